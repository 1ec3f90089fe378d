// The doctor's checks: pure functions from what was found on the node to a verdict, the findings
// behind it and the fix for each known failure. No I/O here (unit-tested without root).

import { BINARY_NAME, PLUGINS } from "../../cmd/plugins";
import type { CheckResult, DoctorReport } from "./report";

/** What a bridge network expects of its bridge (see inspect-cni.ts). */
export interface BridgeExpectation {
  readonly network: string;
  readonly bridge: string;
  readonly mtu: number | undefined;
  readonly gateways: readonly string[];
}

/** What the inspection found: the report's state, plus what only the checks need. */
export interface Findings extends Pick<
  DoctorReport,
  "subnetEnv" | "networks" | "bridges" | "vxlanDevices" | "peers" | "ipam" | "forwarding" | "brNetfilter"
> {
  readonly confDir: string;
  readonly binDirs: readonly string[];
  /** Unreadable files and invalid plugin configurations. */
  readonly configProblems: readonly string[];
  readonly configWarnings: readonly string[];
  readonly expectations: readonly BridgeExpectation[];
  readonly forwardingUnavailable: readonly string[];
}

const ok = (id: CheckResult["id"], summary: string): CheckResult => ({ id, status: "ok", summary, details: [] });
const skip = (id: CheckResult["id"], summary: string): CheckResult => ({ id, status: "skip", summary, details: [] });

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

const usesFlannel = (f: Findings): boolean => f.networks.some((n) => n.plugins.some((p) => p.type === "flannel"));

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

function subnetEnv(f: Findings): CheckResult {
  const env = f.subnetEnv;
  if (env.state === "ok") {
    const subnets = [env.subnet, env.ipv6Subnet].filter((s) => s !== null).join(", ");
    return ok("subnet-env", `${env.path}: subnet ${subnets}, MTU ${env.mtu}, ipMasq ${env.ipMasq}`);
  }
  if (env.state === "missing" && !usesFlannel(f) && f.vxlanDevices.length === 0) {
    return skip("subnet-env", `no ${env.path}, and no flannel network is configured`);
  }
  const missing = env.state === "missing";
  return {
    id: "subnet-env",
    status: "fail",
    summary: missing ? `${env.path} does not exist` : `${env.path} cannot be used (${env.state})`,
    details: [env.error],
    fix: missing
      ? "The node agent writes it once it holds this node's lease: start it (`systemctl start tscni-agent`, or the DaemonSet) and read its log. Until then every pod sandbox fails with 'failed to load flannel subnet.env'."
      : "The node agent rewrites it on start: restart the agent rather than editing the file.",
  };
}

function vxlanDevice(f: Findings): CheckResult {
  if (f.subnetEnv.state !== "ok" && f.vxlanDevices.length === 0) {
    return skip("vxlan-device", "no subnet.env and no flannel VXLAN device: the overlay is not set up");
  }
  if (f.vxlanDevices.length === 0) {
    return {
      id: "vxlan-device",
      status: "fail",
      summary: "subnet.env exists but there is no flannel.<VNI> VXLAN device",
      details: [],
      fix: "The agent creates the device and recreates it when it disappears: start it, or read its log for why it cannot.",
    };
  }
  const down = f.vxlanDevices.filter((d) => !d.up);
  if (down.length > 0) {
    return {
      id: "vxlan-device",
      status: "fail",
      summary: `${down.map((d) => d.name).join(", ")} down`,
      details: down.map((d) => `${d.name} is down`),
      fix: "The agent brings its device up on every reconcile pass: check that it runs; `ip link set <device> up` meanwhile.",
    };
  }
  return ok(
    "vxlan-device",
    f.vxlanDevices.map((d) => `${d.name} up, VNI ${d.vni}, MTU ${d.mtu}, local ${d.local ?? "-"}`).join("; "),
  );
}

function peers(f: Findings): CheckResult {
  if (f.peers.error !== null) {
    return {
      id: "peers",
      status: "warn",
      summary: `cannot read the leases from ${f.peers.store}`,
      details: [f.peers.error],
      fix: "Give the doctor the agent's store flags (--store file:<dir>, or --etcd-endpoints and the --etcd-* files).",
    };
  }
  if (f.peers.devices.length === 0) return skip("peers", "no VXLAN device whose cluster network is known");
  const details: string[] = [];
  let count = 0;
  for (const device of f.peers.devices) {
    count += device.peers.length;
    for (const peer of device.peers) {
      const missing = (["route", "neighbour", "fdb"] as const).filter((k) => peer[k] === false);
      if (missing.length > 0) {
        details.push(
          `${device.device}: lease ${peer.lease} (${peer.subnet} at ${peer.publicIp}): no ${missing.join(", no ")}`,
        );
      }
    }
    for (const [kind, entries] of Object.entries(device.stale)) {
      for (const entry of entries)
        details.push(`${device.device}: stale ${kind.replace(/s$/, "")} ${entry} (no lease)`);
    }
  }
  if (details.length === 0) return ok("peers", `${count} peer(s), every route, neighbour and FDB entry programmed`);
  return {
    id: "peers",
    status: "fail",
    summary: `${details.length} peer entr(ies) differ from the leases`,
    details,
    fix: "The agent repairs drift every --reconcile-interval (30 s by default). If this persists, the agent is not running or failing: check `systemctl status tscni-agent` or the pod's log; a restart programs every peer again.",
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

function forwardPolicy(f: Findings): CheckResult {
  if (f.forwarding.length === 0) {
    const why =
      f.forwardingUnavailable.length > 0 ? f.forwardingUnavailable.join("; ") : "the cluster network is unknown";
    return skip("forward-policy", why);
  }
  const blocked = f.forwarding.filter((c) => c.policy.toUpperCase() === "DROP" && !c.acceptsClusterNetwork);
  if (blocked.length === 0) {
    return ok(
      "forward-policy",
      f.forwarding
        .map((c) => `${c.source}: ${c.policy}${c.acceptsClusterNetwork ? ", cluster network accepted" : ""}`)
        .join("; "),
    );
  }
  const iptables = blocked.some((c) => !c.source.startsWith("nft"));
  const nft = blocked.filter((c) => c.source.startsWith("nft"));
  const fixes = [
    ...(iptables
      ? [
          "start the agent: it appends FLANNEL-FWD (accepting the cluster network) to FORWARD, or `iptables -P FORWARD ACCEPT`",
        ]
      : []),
    ...nft.map(
      (c) =>
        `add \`ip saddr <cluster network> accept\` and \`ip daddr <cluster network> accept\` to ${c.source.slice(4)}: an accept in another table cannot override its drop`,
    ),
  ];
  return {
    id: "forward-policy",
    status: "fail",
    summary: "forwarded pod traffic is dropped: pods cannot reach other nodes",
    details: blocked.map((c) => `${c.source}: policy ${c.policy}, no rule accepts the cluster network`),
    fix: `${fixes.join("; ")}.`,
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
