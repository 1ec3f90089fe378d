// bridge ADD through the compiled binary, with host-local, in a node namespace: what it builds, as
// `ip -j`, `bridge -j` and sysctl report it, and the result it returns.

import { expect } from "chai";

import { PLUGINS } from "../../../../cmd/plugins";
import { SPEC_VERSIONS, versionAtLeast } from "../../../../cni/version";
import { ping } from "../../../helpers/ping";
import { type BridgeResult, type IpRoute, NETWORK, useBridgeNode } from "./fixture";

describe("bridge ADD (compiled binary)", () => {
  const fixture = useBridgeNode();

  it("creates the bridge and a veth pair, addresses the pod, and reports it all", () => {
    const { node } = fixture;
    const pod = node.pod();
    const result = node.addOk(pod, node.config());

    const [bridge, hostEnd, container] = result.interfaces;
    expect(result.interfaces).to.have.length(3);
    expect(bridge?.name).to.equal("cni0");
    expect(hostEnd?.name).to.match(/^veth[0-9a-f]{8}$/);
    expect(container).to.deep.include({ name: "eth0", sandbox: pod.ns.path });
    expect(result.ips).to.deep.equal([{ interface: 2, address: "10.22.0.2/24", gateway: "10.22.0.1" }]);

    const cni0 = node.link("cni0");
    expect(cni0.linkinfo?.info_kind).to.equal("bridge");
    expect(cni0.flags).to.include("UP");
    expect(cni0.address).to.equal(bridge?.mac);
    expect(node.addresses("cni0")).to.deep.equal(["10.22.0.1/24"]);

    const port = node.link(hostEnd?.name ?? "");
    expect(port.master).to.equal("cni0");
    expect(port.address).to.equal(hostEnd?.mac);
    expect(port.operstate).to.equal("UP");
    expect(port.linkinfo?.info_kind).to.equal("veth");

    const eth0 = node.link("eth0", pod.ns);
    expect(eth0.address).to.equal(container?.mac);
    expect(eth0.flags).to.include("UP");
    expect(node.addresses("eth0", pod.ns)).to.deep.equal(["10.22.0.2/24"]);
    expect(node.reservations()).to.deep.equal(["10.22.0.2"]);
  });

  it("sets the sysctls of the reference: forwarding, accept_ra on the bridge, DAD off and arp_notify in the pod", () => {
    const { node } = fixture;
    const pod = node.pod();
    node.addOk(pod, node.config());
    expect(node.host.sysctl("net.ipv4.ip_forward")).to.equal("1");
    expect(node.host.sysctl("net.ipv6.conf.cni0.accept_ra")).to.equal("0");
    expect(pod.ns.sysctl("net.ipv6.conf.eth0.accept_dad")).to.equal("0");
    expect(pod.ns.sysctl("net.ipv4.conf.eth0.arp_notify")).to.equal("1");
  });

  it("pins the bridge's MAC so that it no longer follows its ports", () => {
    const { node } = fixture;
    const first = node.addOk(node.pod(), node.config());
    expect(node.host.exec("cat", ["/sys/class/net/cni0/addr_assign_type"]).stdout.trim()).to.equal("3"); // NET_ADDR_SET
    const second = node.addOk(node.pod(), node.config());
    expect(second.interfaces[0]?.mac).to.equal(first.interfaces[0]?.mac);
    expect(node.link("cni0").address).to.equal(first.interfaces[0]?.mac);
  });

  it("connects two pods with each other and with the gateway", () => {
    const { node } = fixture;
    const [a, b] = [node.pod(), node.pod()];
    node.addOk(a, node.config());
    node.addOk(b, node.config());
    expect(ping(a.ns, "10.22.0.3"), "a -> b").to.equal(true);
    expect(ping(b.ns, "10.22.0.2"), "b -> a").to.equal(true);
    expect(ping(a.ns, "10.22.0.1"), "a -> gateway").to.equal(true);
    expect(ping(a.ns, "10.22.0.99", 0.3), "nobody").to.equal(false);
  });

  it("dual stack: one address per family, gateways on the bridge, both reachable at once", () => {
    const { node } = fixture;
    const config = node.config({
      isDefaultGateway: true,
      ipam: {
        type: "host-local",
        dataDir: node.dataDir,
        ranges: [[{ subnet: "10.22.0.0/24" }], [{ subnet: "fd00:22::/64" }]],
      },
    });
    const [a, b] = [node.pod(), node.pod()];
    const result = node.addOk(a, config);
    node.addOk(b, config);
    expect(result.ips).to.deep.equal([
      { interface: 2, address: "10.22.0.2/24", gateway: "10.22.0.1" },
      { interface: 2, address: "fd00:22::2/64", gateway: "fd00:22::1" },
    ]);
    expect(result.routes).to.deep.equal([
      { dst: "0.0.0.0/0", gw: "10.22.0.1" },
      { dst: "::/0", gw: "fd00:22::1" },
    ]);
    expect(node.addresses("cni0")).to.have.members(["10.22.0.1/24", "fd00:22::1/64"]);
    expect(node.host.sysctl("net.ipv6.conf.all.forwarding")).to.equal("1");
    expect(node.addresses("eth0", a.ns)).to.have.members(["10.22.0.2/24", "fd00:22::2/64"]);
    const v6Default = a.ns.ipJson<IpRoute[]>("-6", "route", "show", "default");
    expect(v6Default.map((r) => r.gateway)).to.deep.equal(["fd00:22::1"]);
    // No address waits for duplicate address detection: pods and gateway answer straight away.
    expect(ping(a.ns, "fd00:22::3"), "a -> b over IPv6").to.equal(true);
    expect(ping(a.ns, "fd00:22::1"), "a -> IPv6 gateway").to.equal(true);
    expect(ping(b.ns, "10.22.0.2"), "b -> a over IPv4").to.equal(true);
  });

  it("isDefaultGateway adds the default route through the gateway; IPAM routes are installed too", () => {
    const { node } = fixture;
    const pod = node.pod();
    const config = node.config({
      isDefaultGateway: true,
      ipam: { type: "host-local", subnet: "10.22.0.0/24", dataDir: node.dataDir, routes: [{ dst: "10.96.0.0/12" }] },
    });
    const result = node.addOk(pod, config);
    expect(result.routes).to.deep.equal([{ dst: "10.96.0.0/12" }, { dst: "0.0.0.0/0", gw: "10.22.0.1" }]);
    const routes = pod.ns.ipJson<IpRoute[]>("-4", "route", "show");
    expect(routes.map((r) => [r.dst, r.gateway])).to.deep.include.members([
      ["default", "10.22.0.1"],
      ["10.96.0.0/12", "10.22.0.1"],
    ]);
  });

  it("isDefaultGateway next to an IPAM default route without gw installs that route once (the reference fails)", () => {
    const { node } = fixture;
    const pod = node.pod();
    const config = node.config({
      isDefaultGateway: true,
      ipam: { type: "host-local", subnet: "10.22.0.0/24", dataDir: node.dataDir, routes: [{ dst: "0.0.0.0/0" }] },
    });
    const result = node.addOk(pod, config);
    expect(result.routes).to.deep.equal([{ dst: "0.0.0.0/0" }, { dst: "0.0.0.0/0", gw: "10.22.0.1" }]);
    const defaults = pod.ns.ipJson<IpRoute[]>("-4", "route", "show", "default");
    expect(defaults.map((r) => r.gateway)).to.deep.equal(["10.22.0.1"]);
    expect(node.check(pod, config, result).status).to.equal(0);
  });

  it("without isGateway the bridge gets no address (the IPs keep the gateway IPAM gave)", () => {
    const { node } = fixture;
    const result = node.addOk(node.pod(), node.config({ isGateway: false }));
    expect(result.ips).to.deep.equal([{ interface: 2, address: "10.22.0.2/24", gateway: "10.22.0.1" }]);
    expect(node.addresses("cni0")).to.deep.equal([]);
    expect(node.host.sysctl("net.ipv4.ip_forward")).to.equal("0");
  });

  it("answers in every spec version's result shape", () => {
    const { node } = fixture;
    // Debian's host-local stops at 1.0.0; ours, once in the suite, also speaks 1.1.0.
    const versions = PLUGINS.has("host-local") ? SPEC_VERSIONS : SPEC_VERSIONS.filter((v) => v !== "1.1.0");
    for (const cniVersion of versions) {
      const pod = node.pod();
      const reply = node.add(pod, node.config({ cniVersion }));
      expect(reply.status, `${cniVersion}: ${reply.stdout}`).to.equal(0);
      expect(reply.json?.["cniVersion"]).to.equal(cniVersion);
      if (versionAtLeast(cniVersion, "0.3.0")) {
        expect(reply.json?.["interfaces"]).to.have.length(3);
        expect((reply.json?.["ips"] as { interface: number }[])[0]?.interface).to.equal(2);
      } else {
        expect((reply.json?.["ip4"] as { ip: string }).ip).to.match(/^10\.22\.0\.\d+\/24$/);
      }
    }
  });

  it("sets the MTU of a new bridge and of both veth ends", () => {
    const { node } = fixture;
    const pod = node.pod();
    const result = node.addOk(pod, node.config({ mtu: 1400 }));
    expect(node.link("cni0").mtu).to.equal(1400);
    expect(node.link(result.interfaces[1]?.name ?? "").mtu).to.equal(1400);
    expect(node.link("eth0", pod.ns).mtu).to.equal(1400);
  });

  it("hairpinMode and portIsolation set the port's flags; promiscMode the bridge's", () => {
    const { node } = fixture;
    const portFlags = (result: BridgeResult) =>
      node.host.bridgeJson<{ hairpin: boolean; isolated: boolean }[]>(
        "-d",
        "link",
        "show",
        "dev",
        result.interfaces[1]?.name ?? "",
      )[0];
    const flagged = node.addOk(node.pod(), node.config({ hairpinMode: true, portIsolation: true }));
    expect(portFlags(flagged)).to.include({ hairpin: true, isolated: true });
    expect(node.link("cni0").flags).to.not.include("PROMISC");

    const plain = node.addOk(node.pod(), node.config({ promiscMode: true }));
    expect(portFlags(plain)).to.include({ hairpin: false, isolated: false });
    expect(node.link("cni0").flags).to.include("PROMISC");
  });

  it("refuses hairpinMode with promiscMode before touching anything", () => {
    const { node } = fixture;
    const reply = node.add(node.pod(), node.config({ hairpinMode: true, promiscMode: true }));
    expect(reply.status).to.equal(1);
    expect(reply.json).to.include({ code: 7, msg: "cannot set hairpin mode and promiscuous mode at the same time" });
    expect(node.host.ipJson("link", "show", "type", "bridge")).to.deep.equal([]);
  });

  it("enabledad turns duplicate address detection on (enhanced), which is off by default", () => {
    const { node } = fixture;
    const pod = node.pod();
    node.addOk(pod, node.config({ enabledad: true }));
    expect(pod.ns.sysctl("net.ipv6.conf.eth0.accept_dad")).to.equal("1");
    expect(pod.ns.sysctl("net.ipv6.conf.eth0.enhanced_dad")).to.equal("1");
  });

  it("takes the container MAC from CNI_ARGS, args.cni.mac and runtimeConfig.mac, the last winning", () => {
    const { node } = fixture;
    const fromArgs = node.pod();
    const r1 = node.addOk(fromArgs, node.config(), {
      CNI_ARGS: "IgnoreUnknown=1;MAC=0a:58:0a:16:00:aa;K8S_POD_NAME=x",
    });
    expect(r1.interfaces[2]?.mac).to.equal("0a:58:0a:16:00:aa");
    expect(node.link("eth0", fromArgs.ns).address).to.equal("0a:58:0a:16:00:aa");

    const fromConfig = node.pod();
    const config = node.config({
      args: { cni: { mac: "0a:58:0a:16:00:bb" } },
      runtimeConfig: { mac: "0A:58:0A:16:00:CC" },
    });
    const r2 = node.addOk(fromConfig, config, { CNI_ARGS: "IgnoreUnknown=1;MAC=0a:58:0a:16:00:aa" });
    expect(r2.interfaces[2]?.mac).to.equal("0a:58:0a:16:00:cc");
    expect(node.link("eth0", fromConfig.ns).address).to.equal("0a:58:0a:16:00:cc");
  });

  it("refuses unknown CNI_ARGS keys unless IgnoreUnknown is set, as the reference", () => {
    const { node } = fixture;
    const reply = node.add(node.pod(), node.config(), { CNI_ARGS: "K8S_POD_NAME=x" });
    expect(reply.status).to.equal(1);
    expect(reply.json?.["code"]).to.equal(4);
  });

  it("the dns key overrides the DNS that IPAM returns", () => {
    const { node } = fixture;
    const dns = { nameservers: ["10.96.0.10"], domain: "cluster.local", search: ["svc.cluster.local"] };
    const result = node.addOk(node.pod(), node.config({ dns }));
    expect(result.dns).to.deep.equal(dns);
  });

  it("L2 mode (ipam {}): no addresses anywhere, the container end up", () => {
    const { node } = fixture;
    const pod = node.pod();
    const result = node.addOk(pod, node.config({ ipam: {} }));
    expect(result.ips).to.equal(undefined);
    expect(result.interfaces).to.have.length(3);
    expect(node.link("eth0", pod.ns).flags).to.include("UP");
    expect(node.addresses("eth0", pod.ns)).to.deep.equal([]);
    expect(node.addresses("cni0")).to.deep.equal([]);
  });

  it("disableContainerInterface leaves the container end down, and refuses IPAM", () => {
    const { node } = fixture;
    const pod = node.pod();
    node.addOk(pod, node.config({ ipam: {}, disableContainerInterface: true }));
    expect(node.link("eth0", pod.ns).flags).to.not.include("UP");
    const refused = node.add(node.pod(), node.config({ disableContainerInterface: true }));
    expect(refused.json).to.include({ code: 7 });
    expect(String(refused.json?.["msg"])).to.contain("cannot use IPAM");
  });

  it("uses an existing bridge, and fails clearly when the name belongs to something else", () => {
    const { node } = fixture;
    node.host.ip("link", "add", "cni0", "type", "veth", "peer", "name", "cni0-peer");
    const reply = node.add(node.pod(), node.config());
    expect(reply.status).to.equal(1);
    expect(String(reply.json?.["msg"])).to.contain('failed to create bridge "cni0"');
    expect(String(reply.json?.["details"])).to.contain("is not a bridge");
    expect(node.reservations()).to.deep.equal([]);
  });

  it("keeps the bridge's address when it is already the gateway, and fails on a different one unless forceAddress", () => {
    const { node } = fixture;
    node.addOk(node.pod(), node.config());
    node.addOk(node.pod(), node.config());
    expect(node.addresses("cni0")).to.deep.equal(["10.22.0.1/24"]);

    // A subnet change (e.g. a re-leased node subnet) meets the old gateway address.
    const other = node.config({}, "10.33.0.0/24");
    const conflict = node.add(node.pod(), other);
    expect(conflict.status).to.equal(1);
    expect(conflict.json?.["msg"]).to.equal('"cni0" already has an IP address different from 10.33.0.1/24');
    const forced = node.add(node.pod(), { ...other, forceAddress: true });
    expect(forced.status, forced.stdout).to.equal(0);
    expect(node.addresses("cni0")).to.deep.equal(["10.33.0.1/24"]);
    expect(NETWORK).to.equal("bridgenet");
  });
});
