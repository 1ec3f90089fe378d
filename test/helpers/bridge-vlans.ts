// A bridge port's VLANs as `bridge -j vlan show` reports them, one [vid, sorted flags] pair per VLAN
// whether iproute2 printed ranges or single VLANs.

import type { TestNetns } from "./netns";

interface BridgeVlanShow {
  readonly ifname: string;
  readonly vlans?: readonly { readonly vlan: number; readonly vlanEnd?: number; readonly flags?: readonly string[] }[];
}

export function portVlans(ns: TestNetns, port: string): [number, string[]][] {
  const [shown] = ns.bridgeJson<BridgeVlanShow[]>("vlan", "show", "dev", port);
  const vlans: [number, string[]][] = [];
  for (const entry of shown?.vlans ?? []) {
    for (let vid = entry.vlan; vid <= (entry.vlanEnd ?? entry.vlan); vid++)
      vlans.push([vid, [...(entry.flags ?? [])].sort()]);
  }
  return vlans;
}

/** Whether this kernel has CONFIG_BRIDGE_VLAN_FILTERING (some minimal VM kernels lack it). */
export function vlanFilteringSupported(ns: TestNetns): boolean {
  const probe = "vlanprobe0";
  const created = ns.exec("ip", ["link", "add", probe, "type", "bridge", "vlan_filtering", "1"]).status === 0;
  if (created) ns.exec("ip", ["link", "del", probe]);
  return created;
}
