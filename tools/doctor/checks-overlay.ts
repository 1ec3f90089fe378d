// The overlay's checks: subnet.env, the VXLAN device, peers, forwarding. Pure functions.

import { type Findings, ok, skip, usesFlannel } from "./findings";
import type { CheckResult } from "./report";

export function subnetEnv(f: Findings): CheckResult {
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

export function vxlanDevice(f: Findings): CheckResult {
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

export function peers(f: Findings): CheckResult {
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

export function forwardPolicy(f: Findings): CheckResult {
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
