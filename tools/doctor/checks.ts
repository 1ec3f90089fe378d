// The doctor's checks: pure functions from what was found on the node to a verdict, the findings
// behind it and the fix for each known failure. No I/O here (unit-tested without root). The
// configuration, bridge and IPAM checks are here, the overlay's in checks-overlay.ts.

import { BINARY_NAME, PLUGINS } from "../../cmd/plugins";
import { forwardPolicy, peers, subnetEnv, vxlanDevice } from "./checks-overlay";
import { type Findings, ok, skip } from "./findings";
import type { CheckResult } from "./report";

export type { BridgeExpectation, Findings } from "./findings";

export function runChecks(f: Findings): CheckResult[] {
  return [
    cniConfig(f),
    cniPlugins(f),
    subnetEnv(f),
    vxlanDevice(f),
    peers(f),
    bridgeAddress(f),
    mtu(f),
    brNetfilter(f),
    forwardPolicy(f),
    ipamLeaks(f),
  ];
}

function cniConfig(f: Findings): CheckResult {
  if (f.configProblems.length > 0) {
    return {
      id: "cni-config",
      status: "fail",
      summary: `${f.configProblems.length} problem(s) in the network configurations of ${f.confDir}`,
      details: f.configProblems,
      fix: "Correct or remove the file: runtimes use the first valid file of the directory, so a broken one can hide or replace the network you meant.",
    };
  }
  const first = f.networks[0];
  if (first === undefined) {
    return {
      id: "cni-config",
      status: "warn",
      summary: `no network configuration in ${f.confDir}`,
      details: [],
      fix: `Install one, e.g. \`${BINARY_NAME} install --conflist 10-flannel.conflist --conf-dir ${f.confDir}\`.`,
    };
  }
  return ok(
    "cni-config",
    `${f.networks.length} network configuration(s); the default is ${first.name} (${first.file})`,
  );
}

function cniPlugins(f: Findings): CheckResult {
  if (f.networks.length === 0) return skip("cni-plugins", "no network configuration");
  const missing = f.networks.flatMap((n) =>
    n.plugins.filter((p) => p.path === null).map((p) => ({ network: n, type: p.type })),
  );
  if (missing.length === 0) {
    const count = new Set(f.networks.flatMap((n) => n.plugins.map((p) => p.type))).size;
    return ok("cni-plugins", `all ${count} plugin(s) the configurations run are in ${f.binDirs.join(":")}`);
  }
  const ours = [...new Set(missing.map((m) => m.type).filter((t) => PLUGINS.has(t)))];
  const others = [...new Set(missing.map((m) => m.type).filter((t) => !PLUGINS.has(t)))];
  const dir = f.binDirs[0] ?? "/opt/cni/bin";
  const fixes = [
    ...(ours.length > 0 ? [`${ours.join(", ")}: \`${BINARY_NAME} install --dest ${dir}\` (or \`make install\`).`] : []),
    ...(others.length > 0
      ? [
          `${others.join(", ")}: install the reference plugins into ${dir} (Debian: containernetworking-plugins, or a containernetworking/plugins release).`,
        ]
      : []),
  ];
  return {
    id: "cni-plugins",
    status: "fail",
    summary: `missing plugin(s): ${[...ours, ...others].join(", ")}`,
    details: missing.map((m) => `${m.network.name} (${m.network.file}) runs ${m.type}: not in ${f.binDirs.join(":")}`),
    fix: `Pod sandboxes fail with 'failed to find plugin' until then. ${fixes.join(" ")}`,
  };
}

function bridgeAddress(f: Findings): CheckResult {
  const wrong: string[] = [];
  const commands: string[] = [];
  const checked = f.expectations.filter((e) => e.gateways.length > 0);
  for (const expectation of checked) {
    const bridge = f.bridges.find((b) => b.name === expectation.bridge);
    if (bridge === undefined || !bridge.present) continue;
    const expectedV4 = expectation.gateways.filter((g) => !g.includes(":"));
    const strays = bridge.addresses.filter((a) => !a.includes(":") && !expectedV4.includes(a));
    if (expectedV4.length === 0 || strays.length === 0) continue;
    wrong.push(
      `${bridge.name} has ${strays.join(", ")}; network ${expectation.network} puts ${expectedV4.join(", ")} there`,
    );
    commands.push(...strays.map((a) => `\`ip addr del ${a} dev ${bridge.name}\``));
  }
  if (checked.length === 0) return skip("bridge-address", "no bridge network with a gateway (or no subnet.env yet)");
  if (wrong.length === 0) return ok("bridge-address", "every bridge has its network's gateway address, or none yet");
  return {
    id: "bridge-address",
    status: "fail",
    summary: "a bridge holds an address of another subnet (ADD fails with 'already has an IP address different from')",
    details: wrong,
    fix: `The node's subnet changed under an existing bridge. With no pod on it: \`ip link del <bridge>\` (the next ADD recreates it). Otherwise ${commands.join(", ")} and recreate the pods of the old subnet; or set "forceAddress": true (flannel: inside "delegate").`,
  };
}

function mtu(f: Findings): CheckResult {
  const details: string[] = [];
  let agentFix = false;
  let podFix = false;
  if (f.subnetEnv.state === "ok" && f.vxlanDevices.length > 0) {
    const smallest = Math.min(...f.vxlanDevices.map((d) => d.mtu));
    if (smallest !== f.subnetEnv.mtu) {
      details.push(`VXLAN device MTU ${smallest}, subnet.env FLANNEL_MTU=${f.subnetEnv.mtu}`);
      agentFix = true;
    }
  }
  for (const expectation of f.expectations) {
    const bridge = f.bridges.find((b) => b.name === expectation.bridge);
    const want = expectation.mtu;
    if (want === undefined || bridge === undefined || !bridge.present) continue;
    if (bridge.mtu !== want)
      details.push(`${bridge.name} MTU ${bridge.mtu}, network ${expectation.network} wants ${want}`);
    for (const port of bridge.ports.filter((p) => p.kind === "veth" && p.mtu !== want)) {
      details.push(
        `${port.name} (port of ${bridge.name}) MTU ${port.mtu}, network ${expectation.network} wants ${want}`,
      );
      podFix = true;
    }
  }
  if (f.expectations.every((e) => e.mtu === undefined) && details.length === 0) {
    return skip("mtu", "no network sets an MTU (or no subnet.env yet)");
  }
  if (details.length === 0) return ok("mtu", "the VXLAN device, bridges and pod veths agree with subnet.env");
  const fixes = [
    ...(agentFix ? ["restart the agent so that subnet.env carries the device's MTU"] : []),
    ...(podFix
      ? ["recreate the pods whose veth differs (they were created before the MTU changed; new ones get the right MTU)"]
      : []),
    "a bridge takes the smallest MTU of its ports: it follows once they agree (or `ip link set <bridge> mtu <MTU>`)",
  ];
  return {
    id: "mtu",
    status: "fail",
    summary: "MTUs disagree: large packets are dropped or fragmented between pods",
    details,
    fix: `${fixes.join("; ")}.`,
  };
}

function brNetfilter(f: Findings): CheckResult {
  if (f.expectations.length === 0) return skip("br-netfilter", "no bridge network");
  const ipv6 = f.subnetEnv.state === "ok" && f.subnetEnv.ipv6Subnet !== null;
  const keys: [string, string | null][] = [["bridge-nf-call-iptables", f.brNetfilter.iptables]];
  if (ipv6) keys.push(["bridge-nf-call-ip6tables", f.brNetfilter.ip6tables]);
  const details = keys.flatMap(([key, value]) =>
    value === null
      ? [`net.bridge.${key} does not exist: br_netfilter is not loaded`]
      : value === "1"
        ? []
        : [`net.bridge.${key} = ${value}`],
  );
  if (details.length === 0) return ok("br-netfilter", keys.map(([key]) => `net.bridge.${key} = 1`).join(", "));
  return {
    id: "br-netfilter",
    status: "fail",
    summary: "traffic between pods on one bridge bypasses iptables: Services (kube-proxy) and masquerade break for it",
    details,
    fix: `\`modprobe br_netfilter\` and \`sysctl -w ${keys.map(([key]) => `net.bridge.${key}=1`).join(" ")}\`; persist them in /etc/modules-load.d/br_netfilter.conf and /etc/sysctl.d/.`,
  };
}

function ipamLeaks(f: Findings): CheckResult {
  if (f.ipam.length === 0) return skip("ipam-leaks", "no host-local network");
  const all = f.ipam.flatMap((n) => n.reservations.map((r) => ({ network: n, r })));
  const gone = all.filter(({ r }) => r.attachment === "gone");
  const unrecorded = all.filter(({ r }) => r.attachment === "unrecorded");
  const full = f.ipam.flatMap((n) =>
    n.rangeSets
      .filter((s) => BigInt(s.reserved) >= BigInt(s.capacity))
      .map((s) => `${n.network}: range set ${s.ranges} is full (${s.reserved} of ${s.capacity})`),
  );
  const details = [
    ...gone.map(({ network, r }) =>
      `${network.network} ${r.address}: container ${r.containerId} ${r.ifName ?? ""}, namespace ${r.netns ?? ""} is gone`.replace(
        / {2,}/g,
        " ",
      ),
    ),
    ...unrecorded.map(
      ({ network, r }) =>
        `${network.network} ${r.address}: container ${r.containerId}, no runtime record of its namespace`,
    ),
    ...full,
  ];
  if (details.length === 0) return ok("ipam-leaks", `${all.length} reservation(s), each with a live network namespace`);
  return {
    id: "ipam-leaks",
    status: "warn",
    summary: `${gone.length} leaked and ${unrecorded.length} unrecorded reservation(s)${full.length > 0 ? `, ${full.length} full range set(s)` : ""}`,
    details,
    fix: "A leaked address stays reserved until released: run the runtime's garbage collection (CNI GC, e.g. `cnitool gc`), or delete <dataDir>/<network>/<address> while no pod is being created. An unrecorded one is leaked too if the runtime uses libcni (containerd, CRI-O, podman).",
  };
}
