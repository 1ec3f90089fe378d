// The delegate config the flannel plugin generates and saves, compared byte for byte with what the
// upstream plugin (flannel-io/cni-plugin, Go's json.Marshal of its map) writes for the same config
// and subnet.env. The expected strings were produced by the upstream plugin's code, except the route
// fields libcni 1.2 added (mtu to scope), which follow that version's Route type.

import { expect } from "chai";

import { CniError } from "../../../cni/errors";
import type { JsonObject } from "../../../cni/json";
import { parseFlannelConf } from "../../../plugins/flannel/config";
import { buildDelegateConfig, encodeDelegateConfig } from "../../../plugins/flannel/delegate-config";
import { parseSubnetEnv } from "../../../plugins/flannel/subnet-env";

const V4 = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const V6 = "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";
const DUAL =
  "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\n" +
  "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";

/** The saved delegate config for a flannel config (name "cni-flannel" unless given) and subnet.env. */
function generate(subnetEnv: string, config: Record<string, unknown> = {}): string {
  const raw = { name: "cni-flannel", type: "flannel", ...config };
  const conf = parseFlannelConf({ cniVersion: "1.0.0", name: raw.name as string, type: "flannel", raw });
  const delegate = buildDelegateConfig(conf, parseSubnetEnv(subnetEnv, "subnet.env"));
  return new TextDecoder().decode(encodeDelegateConfig(delegate.json));
}

function refusal(subnetEnv: string, config: Record<string, unknown>): CniError {
  try {
    generate(subnetEnv, config);
  } catch (error: unknown) {
    if (error instanceof CniError) return error;
    throw error;
  }
  expect.fail("expected the config to be refused");
}

const IPAM_V4 = '"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":"host-local"}';

describe("flannel delegate config", () => {
  it("IPv4: bridge, gateway, no masquerade when flanneld does it, flanneld's MTU, host-local on the node's subnet", () => {
    expect(generate(V4)).to.equal(
      `{"ipMasq":false,${IPAM_V4},"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}`,
    );
  });

  it("IPv6", () => {
    expect(generate(V6)).to.equal(
      '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"fc00::/64"}]],"routes":[{"dst":"fc00::/48"}],"type":"host-local"},' +
        '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
    );
  });

  it("dual stack: one range set per family, a route per network, cniVersion passed on", () => {
    expect(generate(DUAL, { cniVersion: "1.0.0" })).to.equal(
      '{"cniVersion":"1.0.0","ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}],[{"subnet":"fc00::/64"}]],' +
        '"routes":[{"dst":"10.1.0.0/16"},{"dst":"fc00::/48"}],"type":"host-local"},' +
        '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
    );
  });

  it("several cluster networks: one route each", () => {
    const env = V4.replace("10.1.0.0/16", "10.1.0.0/16,192.168.0.0/16").replace("IPMASQ=true", "IPMASQ=false");
    expect(generate(env)).to.equal(
      '{"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],' +
        '"routes":[{"dst":"10.1.0.0/16"},{"dst":"192.168.0.0/16"}],"type":"host-local"},' +
        '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
    );
  });

  it("kube-flannel's conflist entry gives the file of the upstream documentation", () => {
    const env = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
    const config = { name: "cbr0", cniVersion: "0.3.1", delegate: { hairpinMode: true, isDefaultGateway: true } };
    expect(generate(env, config)).to.equal(
      '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,' +
        '"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
        '"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}',
    );
  });

  describe("the plugin's ipam object as the base", () => {
    it("keeps its type and unknown keys (sorted at every level), replaces ranges, appends routes", () => {
      const ipam = {
        type: "my-ipam",
        "unknown-param": "unknown-value",
        routes: [{ dst: "10.96.0.0/12" }, { dst: "192.168.244.0/24", gw: "10.1.17.20", extra: 1 }],
        ranges: [[{ subnet: "1.2.3.0/24" }]],
        zeta: { b: 1, a: [{ y: 1, x: 2 }] },
      };
      expect(generate(V4, { ipam })).to.equal(
        '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],' +
          '"routes":[{"dst":"10.96.0.0/12"},{"dst":"192.168.244.0/24","gw":"10.1.17.20"},{"dst":"10.1.0.0/16"}],' +
          '"type":"my-ipam","unknown-param":"unknown-value","zeta":{"a":[{"x":2,"y":1}],"b":1}},' +
          '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
      );
    });

    it("defaults the type to host-local; routes are rewritten as Go's Route type writes them", () => {
      const ipam = {
        dataDir: "/var/lib/cni/networks-test",
        routes: [
          { dst: "10.96.0.5/12", gw: "" },
          { dst: "fc00:0:0::1/48", gw: "fc00:0::1" },
          { dst: "10.2.0.0/16", mtu: 0, advmss: 0, priority: 0, table: 0, scope: 0 },
          { dst: "10.3.0.0/16", scope: 253, table: 100, priority: 5, advmss: 1400, mtu: 1400 },
        ],
      };
      expect(generate(V4, { ipam })).to.equal(
        '{"ipMasq":false,"ipam":{"dataDir":"/var/lib/cni/networks-test","ranges":[[{"subnet":"10.1.17.0/24"}]],' +
          '"routes":[{"dst":"10.96.0.5/12"},{"dst":"fc00::1/48","gw":"fc00::1"},' +
          '{"dst":"10.2.0.0/16","table":0,"scope":0},' +
          '{"dst":"10.3.0.0/16","mtu":1400,"advmss":1400,"priority":5,"table":100,"scope":253},' +
          '{"dst":"10.1.0.0/16"}],"type":"host-local"},' +
          '"isGateway":true,"mtu":1472,"name":"cni-flannel","type":"bridge"}',
      );
    });

    it("refuses routes Go's Route type cannot read", () => {
      for (const route of [{ dst: "10.0.0.0/33" }, { dst: "10.0.0.0/8", gw: "nope" }, { gw: "10.0.0.1" }, "x"]) {
        const error = refusal(V4, { ipam: { routes: [route] } });
        expect(error.code, JSON.stringify(route)).to.equal(7);
        expect(error.message).to.equal("failed to parse ipam.routes");
        expect(error.details).to.match(/^ipam\.routes\[0\]/);
      }
    });
  });

  describe("the plugin's delegate object", () => {
    it("overrides every default except name and ipam; cniVersion comes from the plugin's config", () => {
      const delegate = {
        ipMasq: true,
        mtu: 9000,
        isGateway: false,
        bridge: "br-x",
        forceAddress: true,
        cniVersion: "9.9.9",
      };
      expect(generate(V4, { delegate, cniVersion: "0.4.0" })).to.equal(
        `{"bridge":"br-x","cniVersion":"0.4.0","forceAddress":true,"ipMasq":true,${IPAM_V4},` +
          '"isGateway":false,"mtu":9000,"name":"cni-flannel","type":"bridge"}',
      );
    });

    it("names another delegate type, which gets no isGateway", () => {
      expect(generate(V4, { delegate: { type: "macvlan", master: "eth0" } })).to.equal(
        `{"ipMasq":false,${IPAM_V4},"master":"eth0","mtu":1472,"name":"cni-flannel","type":"macvlan"}`,
      );
    });

    it("keeps keys set to null, as Go's map lookup sees them", () => {
      expect(generate(V4, { delegate: { ipMasq: null, mtu: null }, ipam: { type: null, routes: null } })).to.equal(
        '{"ipMasq":null,"ipam":{"ranges":[[{"subnet":"10.1.17.0/24"}]],"routes":[{"dst":"10.1.0.0/16"}],"type":null},' +
          '"isGateway":true,"mtu":null,"name":"cni-flannel","type":"bridge"}',
      );
    });

    it("treats null delegate, ipam and runtimeConfig as absent", () => {
      expect(generate(V4, { delegate: null, ipam: null, runtimeConfig: null })).to.equal(generate(V4));
    });

    it("refuses name, ipam (even null) and a type that is not a string, with upstream's messages", () => {
      const cases: [JsonObject, string][] = [
        [{ name: "x" }, "'delegate' dictionary must not have 'name' field, it'll be set by flannel"],
        [{ ipam: null }, "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel"],
        [{ type: 1 }, "'delegate' dictionary, if present, must have (string) 'type' field"],
        [{ type: null }, "'delegate' dictionary, if present, must have (string) 'type' field"],
      ];
      for (const [delegate, message] of cases) {
        const error = refusal(V4, { delegate });
        expect(error.code).to.equal(7);
        expect(error.message).to.equal(message);
      }
    });
  });

  it("passes runtimeConfig to the delegate (capabilities: mac, ips, portMappings)", () => {
    const runtimeConfig = {
      mac: "aa:bb:cc:dd:ee:ff",
      ips: ["10.1.17.9/24"],
      portMappings: [{ hostPort: 80, containerPort: 8080, protocol: "tcp" }],
    };
    expect(generate(V4, { runtimeConfig })).to.equal(
      `{"ipMasq":false,${IPAM_V4},"isGateway":true,"mtu":1472,"name":"cni-flannel",` +
        '"runtimeConfig":{"ips":["10.1.17.9/24"],"mac":"aa:bb:cc:dd:ee:ff",' +
        '"portMappings":[{"containerPort":8080,"hostPort":80,"protocol":"tcp"}]},"type":"bridge"}',
    );
    expect(generate(V4, { runtimeConfig: {} })).to.contain('"runtimeConfig":{}');
  });

  it("escapes strings as Go does and writes numbers as Go writes float64", () => {
    const delegate = { note: '<a&b>\u2028é\u0001"\\/', a: 1.5, b: 1e21, c: -0.000001, d: 1e-7, e: 123456789012, f: 0 };
    expect(generate(V4, { delegate })).to.equal(
      `{"a":1.5,"b":1e+21,"c":-0.000001,"d":1e-7,"e":123456789012,"f":0,"ipMasq":false,${IPAM_V4},` +
        '"isGateway":true,"mtu":1472,"name":"cni-flannel","note":"\\u003ca\\u0026b\\u003e\\u2028é\\u0001\\"\\\\/",' +
        '"type":"bridge"}',
    );
  });

  it("refuses plugin keys of the wrong type as an invalid network config", () => {
    for (const config of [
      { delegate: "bridge" },
      { ipam: [] },
      { subnetFile: 1 },
      { dataDir: false },
      { runtimeConfig: 1 },
    ]) {
      const error = refusal(V4, config);
      expect(error.code, JSON.stringify(config)).to.equal(7);
      expect(error.message).to.equal("invalid flannel network configuration");
    }
  });

  it("defaults subnetFile and dataDir as upstream (an empty string counts as unset)", () => {
    const conf = (raw: JsonObject) => parseFlannelConf({ cniVersion: "1.0.0", name: "n", type: "flannel", raw });
    expect(conf({})).to.include({ subnetFile: "/run/flannel/subnet.env", dataDir: "/var/lib/cni/flannel" });
    expect(conf({ subnetFile: "", dataDir: "" })).to.include({
      subnetFile: "/run/flannel/subnet.env",
      dataDir: "/var/lib/cni/flannel",
    });
    expect(conf({ subnetFile: "/x/subnet.env", dataDir: "/y" })).to.include({
      subnetFile: "/x/subnet.env",
      dataDir: "/y",
    });
  });
});
