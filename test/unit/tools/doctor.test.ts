// The doctor's pure parts: reading forwarding rules from iptables-save and `nft -j` output, the
// plugins a configuration needs, and the verdicts of the checks on edge cases the node tests do
// not build (br_netfilter not loaded, a full range set, a broken config file).

import { expect } from "chai";

import { type Findings, runChecks } from "../../../tools/doctor/checks";
import { iptablesForward, nftForwardChains } from "../../../tools/doctor/inspect-firewall";
import { requiredPlugins } from "../../../tools/doctor/inspect-cni";
import type { CheckId } from "../../../tools/doctor/report";
import { parseNetworkConfigFile } from "../../../tools/network-config-files";

const CLUSTER = "10.244.0.0/16";

const saved = (policy: string, rules: readonly string[]) =>
  [
    "*filter",
    `:INPUT ACCEPT [0:0]`,
    `:FORWARD ${policy} [0:0]`,
    ":OUTPUT ACCEPT [0:0]",
    ":FLANNEL-FWD - [0:0]",
    ...rules,
    "COMMIT",
    "",
  ].join("\n");
const FLANNEL_FWD = [
  '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
  `-A FLANNEL-FWD -s ${CLUSTER} -m comment --comment "flanneld forward" -j ACCEPT`,
  `-A FLANNEL-FWD -d ${CLUSTER} -m comment --comment "flanneld forward" -j ACCEPT`,
];

describe("doctor: forwarding", () => {
  it("reads the FORWARD policy and the agent's FLANNEL-FWD rules from iptables-save", () => {
    expect(iptablesForward(4, CLUSTER, saved("DROP", FLANNEL_FWD))).to.deep.equal({
      source: "iptables",
      policy: "DROP",
      acceptsClusterNetwork: true,
    });
    // The chain without the jump, or the jump to a chain missing a direction, accepts nothing.
    expect(iptablesForward(4, CLUSTER, saved("DROP", FLANNEL_FWD.slice(1))).acceptsClusterNetwork).to.equal(false);
    expect(iptablesForward(4, CLUSTER, saved("DROP", FLANNEL_FWD.slice(0, 2))).acceptsClusterNetwork).to.equal(false);
    // Rules for another network do not count.
    expect(iptablesForward(4, "10.99.0.0/16", saved("DROP", FLANNEL_FWD)).acceptsClusterNetwork).to.equal(false);
  });

  it("counts plain accept rules in FORWARD itself", () => {
    const plain = [`-A FORWARD -s ${CLUSTER} -j ACCEPT`, `-A FORWARD -d ${CLUSTER} -j ACCEPT`];
    expect(iptablesForward(6, CLUSTER, saved("DROP", plain))).to.deep.equal({
      source: "ip6tables",
      policy: "DROP",
      acceptsClusterNetwork: true,
    });
  });

  const chain = (family: string, table: string, name: string, policy: string) => ({
    chain: { family, table, name, handle: 1, type: "filter", hook: "forward", prio: 0, policy },
  });
  const accept = (family: string, table: string, name: string, field: string, extra: object[] = []) => ({
    rule: {
      family,
      table,
      chain: name,
      handle: 2,
      expr: [
        {
          match: {
            op: "==",
            left: { payload: { protocol: "ip", field } },
            right: { prefix: { addr: "10.244.0.0", len: 16 } },
          },
        },
        ...extra,
        { accept: null },
      ],
    },
  });
  const listing = (...items: object[]) => ({ nftables: [{ metainfo: { json_schema_version: 1 } }, ...items] });

  it("finds nftables forward chains that drop, skipping iptables-nft's FORWARD", () => {
    const clusters = { 4: CLUSTER, 6: undefined };
    expect(
      nftForwardChains(
        clusters,
        listing(
          chain("ip", "filter", "FORWARD", "drop"),
          chain("inet", "fw", "forward", "drop"),
          chain("inet", "ok", "forward", "accept"),
        ),
      ),
    ).to.deep.equal([{ source: "nft inet fw forward", policy: "drop", acceptsClusterNetwork: false }]);
    const both = listing(
      chain("inet", "fw", "forward", "drop"),
      accept("inet", "fw", "forward", "saddr", [{ counter: { packets: 0, bytes: 0 } }]),
      accept("inet", "fw", "forward", "daddr"),
    );
    expect(nftForwardChains(clusters, both)[0]?.acceptsClusterNetwork).to.equal(true);
    // A rule narrowed by anything else (here an interface) does not accept the whole network.
    const narrowed = listing(
      chain("inet", "fw", "forward", "drop"),
      accept("inet", "fw", "forward", "saddr", [
        { match: { op: "==", left: { meta: { key: "iifname" } }, right: "eth1" } },
      ]),
      accept("inet", "fw", "forward", "daddr"),
    );
    expect(nftForwardChains(clusters, narrowed)[0]?.acceptsClusterNetwork).to.equal(false);
    expect(nftForwardChains(clusters, undefined)).to.deep.equal([]);
  });
});

describe("doctor: network configurations", () => {
  it("lists the plugins a chain runs: entries, IPAM, flannel's delegate and its IPAM", () => {
    const file = parseNetworkConfigFile(
      "10-flannel.conflist",
      JSON.stringify({
        name: "cbr0",
        cniVersion: "0.3.1",
        plugins: [
          { type: "flannel", delegate: { hairpinMode: true } },
          { type: "portmap", capabilities: { portMappings: true } },
          { type: "bandwidth" },
        ],
      }),
    );
    expect(requiredPlugins(file)).to.deep.equal(["flannel", "bridge", "host-local", "portmap", "bandwidth"]);
    const plain = parseNetworkConfigFile(
      "10-bridge.conf",
      JSON.stringify({ name: "b", cniVersion: "1.0.0", type: "bridge", ipam: { type: "dhcp" } }),
    );
    expect(requiredPlugins(plain)).to.deep.equal(["bridge", "dhcp"]);
  });

  it("rejects what libcni could not use, naming the key", () => {
    expect(() => parseNetworkConfigFile("a.conflist", "{")).to.throw(/a\.conflist: not JSON/);
    expect(() => parseNetworkConfigFile("a.conflist", '{"name":"n","plugins":[]}')).to.throw(/the list is empty/);
    expect(() => parseNetworkConfigFile("a.conf", '{"name":"n"}')).to.throw(/type: expected a string/);
    expect(() => parseNetworkConfigFile("a.conf", '{"name":"bad name","type":"bridge"}')).to.throw(
      /invalid characters/,
    );
  });
});

describe("doctor: checks", () => {
  const healthy: Findings = {
    confDir: "/etc/cni/net.d",
    binDirs: ["/opt/cni/bin"],
    subnetEnv: {
      path: "/run/flannel/subnet.env",
      state: "ok",
      networks: [CLUSTER],
      subnet: "10.244.1.0/24",
      ipv6Networks: [],
      ipv6Subnet: null,
      mtu: 1450,
      ipMasq: true,
    },
    networks: [
      {
        file: "/etc/cni/net.d/10-flannel.conflist",
        name: "cbr0",
        default: true,
        plugins: [{ type: "flannel", path: "/opt/cni/bin/flannel" }],
        bridge: "cni0",
        problem: null,
      },
    ],
    configProblems: [],
    configWarnings: [],
    expectations: [{ network: "cbr0", bridge: "cni0", mtu: 1450, gateways: ["10.244.1.1/24"] }],
    bridges: [{ name: "cni0", networks: ["cbr0"], present: false, up: false, mtu: null, addresses: [], ports: [] }],
    vxlanDevices: [
      { name: "flannel.1", vni: 1, mtu: 1450, up: true, local: "192.168.1.11", underlay: "eth0", addresses: [] },
    ],
    peers: { store: "file:/var/lib/tscni/leases", error: null, devices: [] },
    ipam: [],
    forwarding: [{ source: "iptables", policy: "ACCEPT", acceptsClusterNetwork: false }],
    forwardingUnavailable: [],
    brNetfilter: { iptables: "1", ip6tables: "1" },
  };
  const statuses = (findings: Findings) => Object.fromEntries(runChecks(findings).map((c) => [c.id, c.status]));
  const failures = (findings: Findings): CheckId[] =>
    runChecks(findings)
      .filter((c) => c.status === "fail")
      .map((c) => c.id);

  it("a node whose bridge does not exist yet (no pod) is healthy", () => {
    expect(failures(healthy)).to.deep.equal([]);
    expect(statuses(healthy)).to.include({ "bridge-address": "ok", mtu: "ok", peers: "skip", "ipam-leaks": "skip" });
  });

  it("br_netfilter not loaded: the sysctl does not exist", () => {
    const found = runChecks({ ...healthy, brNetfilter: { iptables: null, ip6tables: null } }).find(
      (c) => c.id === "br-netfilter",
    );
    expect(found?.status).to.equal("fail");
    expect(found?.details).to.deep.equal([
      "net.bridge.bridge-nf-call-iptables does not exist: br_netfilter is not loaded",
    ]);
    expect(found?.fix).to.contain("modprobe br_netfilter");
  });

  it("a broken file in the conf dir fails the configuration check", () => {
    expect(failures({ ...healthy, configProblems: ["/etc/cni/net.d/00-x.conflist: not JSON"] })).to.deep.equal([
      "cni-config",
    ]);
  });

  it("a full range set is a warning", () => {
    const ipam = [
      {
        network: "cbr0",
        dataDir: "/var/lib/cni/networks",
        rangeSets: [{ ranges: "10.244.1.1-10.244.1.3", capacity: "2", reserved: 2 }],
        reservations: [],
      },
    ];
    const found = runChecks({ ...healthy, ipam }).find((c) => c.id === "ipam-leaks");
    expect(found?.status).to.equal("warn");
    expect(found?.details).to.deep.equal(["cbr0: range set 10.244.1.1-10.244.1.3 is full (2 of 2)"]);
  });

  it("no subnet.env and no flannel network: the overlay checks are skipped, not failed", () => {
    const bridgeOnly: Findings = {
      ...healthy,
      subnetEnv: { path: "/run/flannel/subnet.env", state: "missing", error: "open: no such file or directory" },
      networks: [{ ...healthy.networks[0]!, plugins: [{ type: "bridge", path: "/opt/cni/bin/bridge" }] }],
      vxlanDevices: [],
      forwarding: [],
    };
    expect(failures(bridgeOnly)).to.deep.equal([]);
    expect(statuses(bridgeOnly)).to.include({ "subnet-env": "skip", "vxlan-device": "skip", "forward-policy": "skip" });
  });
});
