// Handle route verbs against the kernel, checked with `ip -j route`.

import { expect } from "chai";

import { RT_SCOPE_LINK, RT_TABLE_UNSPEC, RTPROT_STATIC } from "../../../native/netlink/constants";
import { isNetlinkError } from "../../../native/netlink/errors";
import type { Route } from "../../../native/netlink/route";
import { type IpRoute, thrown, useNetns } from "./fixture";

/** ip's way of writing a destination: "default" for /0, no prefix for a host route. */
function ipDst(route: Route): string {
  const [address, prefix] = route.dst.split("/");
  if (prefix === "0") return "default";
  return prefix === (route.family === 4 ? "32" : "128") ? (address ?? "") : route.dst;
}

describe("Handle: routes", () => {
  const host = useNetns("routes");
  let br0: number;

  beforeEach(() => {
    host.ns.ip("link", "add", "br0", "type", "bridge");
    host.ns.ip("link", "set", "br0", "up");
    host.ns.ip("addr", "add", "10.0.0.1/24", "dev", "br0");
    host.ns.ip("addr", "add", "fd00::1/64", "dev", "br0", "nodad");
    br0 = host.handle.linkByName("br0").index;
  });

  const ipRoutes = (...args: string[]): IpRoute[] => host.ns.ipJson<IpRoute[]>("-4", "route", "show", ...args);
  const ip6Routes = (...args: string[]): IpRoute[] => host.ns.ipJson<IpRoute[]>("-6", "route", "show", ...args);
  const ipRoute = (...args: string[]): IpRoute => {
    const routes = ipRoutes(...args);
    if (routes.length !== 1) throw new Error(`ip route show ${args.join(" ")}: ${JSON.stringify(routes)}`);
    return routes[0] as IpRoute;
  };

  it("adds a route with a gateway, a metric, mtu and advmss", () => {
    host.handle.routeAdd({
      dst: "10.2.0.0/16",
      gateway: "10.0.0.5",
      linkIndex: br0,
      priority: 100,
      mtu: 1400,
      advmss: 1360,
      protocol: RTPROT_STATIC,
    });
    expect(ipRoute("10.2.0.0/16")).to.deep.include({
      gateway: "10.0.0.5",
      dev: "br0",
      metric: 100,
      protocol: "static",
      metrics: [{ mtu: 1400, advmss: 1360 }],
    });
    const [listed] = host.handle.routeList().filter((r) => r.dst === "10.2.0.0/16");
    expect(listed).to.include({ gateway: "10.0.0.5", linkIndex: br0, priority: 100, mtu: 1400, advmss: 1360 });
  });

  it("adds default routes of both families through a gateway", () => {
    host.handle.routeAdd({ dst: "0.0.0.0/0", gateway: "10.0.0.254" });
    host.handle.routeAdd({ dst: "::/0", gateway: "fd00::fe", linkIndex: br0 });
    expect(ipRoute("default")).to.include({ gateway: "10.0.0.254", dev: "br0" });
    expect(ip6Routes("default")[0]).to.include({
      gateway: "fd00::fe",
      dev: "br0",
      metric: 1024,
    });
    const defaults = host.handle.routeList().filter((r) => r.dst.endsWith("/0"));
    expect(defaults.map((r) => [r.dst, r.gateway, r.linkIndex])).to.have.deep.members([
      ["0.0.0.0/0", "10.0.0.254", br0],
      ["::/0", "fd00::fe", br0],
    ]);
  });

  it("adds a route through a gateway outside the link's subnets with onlink (flannel's routes)", () => {
    const error = thrown(() => host.handle.routeAdd({ dst: "10.244.1.0/24", gateway: "10.244.1.0", linkIndex: br0 }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EINVAL", "ENETUNREACH"));
    expect(error).to.have.property("kernelMessage").that.is.a("string");
    host.handle.routeAdd({ dst: "10.244.1.0/24", gateway: "10.244.1.0", linkIndex: br0, onlink: true });
    expect(ipRoute("10.244.1.0/24")).to.include({ gateway: "10.244.1.0", dev: "br0" });
    expect(ipRoute("10.244.1.0/24").flags).to.include("onlink");
    expect(host.handle.routeList({ linkIndex: br0 }).find((r) => r.dst === "10.244.1.0/24")?.onlink).to.equal(true);
  });

  it("adds a link-scope route without a gateway, with a preferred source", () => {
    host.handle.routeAdd({ dst: "10.6.0.0/16", linkIndex: br0, prefsrc: "10.0.0.1" });
    host.handle.routeAdd({ dst: "10.7.0.0/16", linkIndex: br0, scope: RT_SCOPE_LINK });
    expect(ipRoute("10.6.0.0/16")).to.include({ dev: "br0", scope: "link", prefsrc: "10.0.0.1" });
    expect(ipRoute("10.7.0.0/16")).to.include({ dev: "br0", scope: "link" });
    const listed = host.handle.routeList().find((r) => r.dst === "10.6.0.0/16");
    expect(listed).to.include({ scope: RT_SCOPE_LINK, prefsrc: "10.0.0.1", gateway: undefined });
  });

  it("adds routes to other tables, below and above 255", () => {
    host.handle.routeAdd({ dst: "10.8.0.0/16", gateway: "10.0.0.8", table: 100 });
    host.handle.routeAdd({ dst: "10.9.0.0/16", gateway: "10.0.0.9", table: 1000 });
    expect(ipRoute("table", "100")).to.include({ dst: "10.8.0.0/16", gateway: "10.0.0.8" });
    expect(ipRoute("table", "1000")).to.include({ dst: "10.9.0.0/16", gateway: "10.0.0.9" });
    expect(ipRoutes().map((r) => r.dst)).to.not.include.members(["10.8.0.0/16", "10.9.0.0/16"]);
    expect(host.handle.routeList({ table: 100 }).map((r) => r.dst)).to.deep.equal(["10.8.0.0/16"]);
    expect(host.handle.routeList({ table: 1000 }).map((r) => [r.dst, r.table])).to.deep.equal([["10.9.0.0/16", 1000]]);
    expect(host.handle.routeList().map((r) => r.dst)).to.not.include("10.9.0.0/16");
  });

  it("fails with EEXIST for a route that exists; a different metric is another route", () => {
    host.handle.routeAdd({ dst: "10.2.0.0/16", gateway: "10.0.0.5" });
    const error = thrown(() => host.handle.routeAdd({ dst: "10.2.0.0/16", gateway: "10.0.0.6" }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EEXIST"));
    host.handle.routeAdd({ dst: "10.2.0.0/16", gateway: "10.0.0.6", priority: 50 });
    expect(ipRoutes("10.2.0.0/16").map((r) => [r.gateway, r.metric])).to.have.deep.members([
      ["10.0.0.5", undefined],
      ["10.0.0.6", 50],
    ]);
  });

  it("routeAddEcmp: a second IPv6 gateway joins the route as a next hop; only an identical route is EEXIST", () => {
    host.handle.routeAddEcmp({ dst: "fd01::/64", gateway: "fd00::5", linkIndex: br0 });
    host.handle.routeAddEcmp({ dst: "fd01::/64", gateway: "fd00::6", linkIndex: br0 });
    const [route] = ip6Routes("fd01::/64");
    expect(route?.nexthops?.map((h) => h.gateway)).to.have.members(["fd00::5", "fd00::6"]);
    host.handle.routeAddEcmp({ dst: "10.2.0.0/16", gateway: "10.0.0.5", linkIndex: br0 });
    const error = thrown(() => host.handle.routeAddEcmp({ dst: "10.2.0.0/16", gateway: "10.0.0.5", linkIndex: br0 }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "EEXIST"));
  });

  it("replaces a route, or adds it when missing", () => {
    host.handle.routeReplace({ dst: "10.2.0.0/16", gateway: "10.0.0.5" });
    host.handle.routeReplace({ dst: "10.2.0.0/16", gateway: "10.0.0.7", mtu: 1300 });
    expect(ipRoute("10.2.0.0/16")).to.deep.include({ gateway: "10.0.0.7", metrics: [{ mtu: 1300 }] });
    host.handle.routeReplace({ dst: "fd01::/64", gateway: "fd00::7", priority: 10 });
    host.handle.routeReplace({ dst: "fd01::/64", gateway: "fd00::8", priority: 10 });
    expect(ip6Routes("fd01::/64")).to.have.length(1);
    expect(ip6Routes("fd01::/64")[0]).to.include({ gateway: "fd00::8" });
  });

  it("deletes routes; deleting a missing one fails with ESRCH", () => {
    host.handle.routeAdd({ dst: "10.2.0.0/16", gateway: "10.0.0.5" });
    host.handle.routeAdd({ dst: "10.9.0.0/16", gateway: "10.0.0.9", table: 1000 });
    host.handle.routeAdd({ dst: "fd01::/64", gateway: "fd00::7" });
    host.handle.routeDel({ dst: "10.2.0.0/16" });
    host.handle.routeDel({ dst: "10.9.0.0/16", table: 1000 });
    host.handle.routeDel({ dst: "fd01::/64", gateway: "fd00::7" });
    expect(ipRoutes("10.2.0.0/16")).to.deep.equal([]);
    expect(ipRoutes("table", "1000")).to.deep.equal([]);
    expect(ip6Routes("fd01::/64")).to.deep.equal([]);
    const error = thrown(() => host.handle.routeDel({ dst: "10.2.0.0/16" }));
    expect(error).to.satisfy((e: unknown) => isNetlinkError(e, "ESRCH"));
  });

  it("deletes only the route whose given fields match", () => {
    host.handle.routeAdd({ dst: "10.2.0.0/16", gateway: "10.0.0.5", priority: 10 });
    host.handle.routeAdd({ dst: "10.2.0.0/16", gateway: "10.0.0.6", priority: 20 });
    host.handle.routeDel({ dst: "10.2.0.0/16", priority: 20 });
    expect(ipRoutes("10.2.0.0/16").map((r) => r.gateway)).to.deep.equal(["10.0.0.5"]);
    expect(thrown(() => host.handle.routeDel({ dst: "10.2.0.0/16", gateway: "10.0.0.6" }))).to.satisfy((e: unknown) =>
      isNetlinkError(e, "ESRCH"),
    );
  });

  it("lists the main table as ip does, every table on request, and by link", () => {
    host.ns.ip("link", "add", "br1", "type", "bridge");
    host.ns.ip("link", "set", "br1", "up");
    host.ns.ip("addr", "add", "10.1.0.1/24", "dev", "br1");
    host.ns.ip("route", "add", "10.3.0.0/16", "via", "10.1.0.3");
    host.ns.ip("route", "add", "default", "via", "10.0.0.254");
    const main = [...ipRoutes(), ...ip6Routes()].map((r) => [r.dst, r.gateway]);
    expect(host.handle.routeList().map((r) => [ipDst(r), r.gateway])).to.have.deep.members(main);
    const all = [...ipRoutes("table", "all"), ...ip6Routes("table", "all")];
    expect(host.handle.routeList({ table: RT_TABLE_UNSPEC })).to.have.length(all.length);
    expect(host.handle.routeList({ table: RT_TABLE_UNSPEC }).some((r) => r.type === "local")).to.equal(true);
    const br1 = host.handle.linkByName("br1").index;
    expect(host.handle.routeList({ linkIndex: br1, family: 4 }).map((r) => r.dst)).to.have.members([
      "10.1.0.0/24",
      "10.3.0.0/16",
    ]);
  });

  it("exposes the next hops of a multipath route", () => {
    host.ns.ip("link", "add", "br1", "type", "bridge");
    host.ns.ip("link", "set", "br1", "up");
    host.ns.ip("addr", "add", "10.1.0.1/24", "dev", "br1");
    host.ns.ip(
      "route",
      "add",
      "10.7.0.0/16",
      "nexthop",
      "via",
      "10.0.0.5",
      "weight",
      "2",
      "nexthop",
      "via",
      "10.1.0.5",
    );
    const [route] = host.handle.routeList().filter((r) => r.dst === "10.7.0.0/16");
    const br1 = host.handle.linkByName("br1").index;
    expect(route?.multipath.map((h) => [h.gateway, h.linkIndex, h.weight])).to.deep.equal([
      ["10.0.0.5", br0, 2],
      ["10.1.0.5", br1, 1],
    ]);
    expect(ipRoute("10.7.0.0/16").nexthops?.map((h) => [h.gateway, h.dev, h.weight])).to.deep.equal([
      ["10.0.0.5", "br0", 2],
      ["10.1.0.5", "br1", 1],
    ]);
  });
});
