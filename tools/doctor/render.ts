// The doctor's report for people: one table per part of the node, then the checks with their fixes.

import type { CheckStatus, DoctorReport } from "./report";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const yesNo = (value: boolean | null): string => (value === null ? "-" : value ? "yes" : "MISSING");
const STATUS: Readonly<Record<CheckStatus, string>> = { ok: "ok", warn: "WARN", fail: "FAIL", skip: "skip" };

export function renderReport(report: DoctorReport): string {
  const out: string[] = [];
  const section = (title: string, lines: readonly string[]) => {
    out.push(title, ...lines.map((l) => `  ${l}`), "");
  };

  const env = report.subnetEnv;
  section(
    `SUBNET.ENV  ${env.path}`,
    env.state === "ok"
      ? table(
          ["NETWORK", "SUBNET", "MTU", "IPMASQ"],
          [
            [
              [...env.networks, ...env.ipv6Networks].join(","),
              [env.subnet, env.ipv6Subnet].filter((s) => s !== null).join(","),
              String(env.mtu),
              String(env.ipMasq),
            ],
          ],
        )
      : [`${env.state}: ${env.error}`],
  );

  section(
    "NETWORKS",
    report.networks.length === 0
      ? ["(none)"]
      : table(
          ["NAME", "FILE", "BRIDGE", "PLUGINS"],
          report.networks.map((n) => [
            `${n.name}${n.default ? " (default)" : ""}`,
            n.file,
            n.bridge ?? "-",
            n.plugins.map((p) => (p.path === null ? `${p.type} (MISSING)` : p.type)).join(", "),
          ]),
        ),
  );

  const devices = [
    ...report.vxlanDevices.map((d) => [
      d.name,
      "vxlan",
      d.up ? "up" : "DOWN",
      String(d.mtu),
      d.addresses.join(",") || "-",
      `vni ${d.vni}, local ${d.local ?? "-"} on ${d.underlay ?? "-"}`,
    ]),
    ...report.bridges.map((b) =>
      b.present
        ? [
            b.name,
            "bridge",
            b.up ? "up" : "DOWN",
            String(b.mtu),
            b.addresses.join(",") || "-",
            `${b.ports.length} port(s); ${b.networks.join(", ")}`,
          ]
        : [b.name, "bridge", "absent", "-", "-", `created by the first pod of ${b.networks.join(", ")}`],
    ),
    ...report.bridges.flatMap((b) =>
      b.ports.map((p) => [`  ${p.name}`, p.kind, p.up ? "up" : "down", String(p.mtu), "", `port of ${b.name}`]),
    ),
  ];
  section(
    "DEVICES",
    devices.length === 0 ? ["(none)"] : table(["NAME", "KIND", "STATE", "MTU", "ADDRESSES", ""], devices),
  );

  const peerRows = report.peers.devices.flatMap((d) => [
    ...d.peers.map((p) => [d.device, p.lease, p.publicIp, p.vtepMac, yesNo(p.route), yesNo(p.neighbour), yesNo(p.fdb)]),
    ...d.ignored.map((i) => [d.device, i.lease, `ignored: ${i.reason}`, "", "", "", ""]),
    ...Object.entries(d.stale).flatMap(([kind, entries]) =>
      entries.map((e) => [d.device, "(no lease)", `stale ${kind.replace(/s$/, "")}: ${e}`, "", "", "", ""]),
    ),
  ]);
  section(
    `PEERS  leased in ${report.peers.store} vs programmed`,
    report.peers.error !== null
      ? [`cannot read the leases: ${report.peers.error}`]
      : peerRows.length === 0
        ? ["(none)"]
        : table(["DEVICE", "LEASE", "PUBLIC IP", "VTEP MAC", "ROUTE", "NEIGH", "FDB"], peerRows),
  );

  section(
    "IPAM (host-local)",
    report.ipam.length === 0
      ? ["(none)"]
      : report.ipam.flatMap((n) => [
          `${n.network} in ${n.dataDir}: ${n.reservations.length} reservation(s)${n.rangeSets.map((s) => `; ${s.ranges}: ${s.reserved} of ${s.capacity}`).join("")}`,
          ...(n.reservations.length === 0
            ? []
            : table(
                ["  ADDRESS", "CONTAINER", "IFNAME", "NAMESPACE"],
                n.reservations.map((r) => [
                  `  ${r.address}`,
                  r.containerId.slice(0, 16),
                  r.ifName ?? "-",
                  `${r.attachment}${r.netns === null ? "" : ` (${r.netns})`}`,
                ]),
              )),
        ]),
  );

  section("FIREWALL", [
    ...report.forwarding.map(
      (c) =>
        `${c.source} FORWARD policy ${c.policy}, cluster network ${c.acceptsClusterNetwork ? "accepted" : "not accepted"}`,
    ),
    `br_netfilter: bridge-nf-call-iptables ${report.brNetfilter.iptables ?? "(not loaded)"}, bridge-nf-call-ip6tables ${report.brNetfilter.ip6tables ?? "(not loaded)"}`,
  ]);

  out.push("CHECKS");
  for (const check of report.checks) {
    out.push(`  ${STATUS[check.status].padEnd(4)}  ${check.id.padEnd(14)}  ${check.summary}`);
    for (const detail of check.details) out.push(`${" ".repeat(24)}- ${detail}`);
    if (check.fix !== undefined) out.push(`${" ".repeat(24)}fix: ${check.fix}`);
  }
  const failed = report.checks.filter((c) => c.status === "fail").length;
  const warned = report.checks.filter((c) => c.status === "warn").length;
  out.push("", failed === 0 ? `healthy (${warned} warning(s))` : `${failed} check(s) failed, ${warned} warning(s)`);
  return out.join("\n");
}
