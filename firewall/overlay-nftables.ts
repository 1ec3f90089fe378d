// flanneld's nftables rules (pkg/trafficmngr/nftables): table `ip flannel-ipv4` and
// `ip6 flannel-ipv6`, each with a `postrtg` chain (nat, postrouting, srcnat) and a `forward`
// chain (filter, forward, filter), flushed and refilled in one transaction.
//
// Two corrections to flanneld, both making nft mode behave as its iptables mode does:
//   - the kube-proxy mark is tested as a bit (`meta mark & 0x4000 == 0x4000`); flanneld compares
//     the whole mark for equality (a TODO in its source);
//   - "outside -> local pod keeps its source" is `saddr != <cluster> daddr <node> return`; flanneld
//     writes `saddr != <node> daddr <cluster> return`, which returns before the final rule
//     (host -> remote pod masquerade) can ever match.

import type { IpFamily } from "../native/netlink/ip";
import { MULTICAST } from "./addresses";
import { deleteChainCommands, deleteTableCommands, nftScript, nftString } from "./nft-text";
import type { FamilyOverlay, OverlayPlan } from "./overlay-rules";
import { cleanUpUnlessUnavailable, nftablesWorks, nftApply } from "./tools";

const FAMILIES: readonly IpFamily[] = [4, 6];
export const OVERLAY_NFT_TABLES: Readonly<Record<IpFamily, { family: string; table: string }>> = {
  4: { family: "ip", table: "flannel-ipv4" },
  6: { family: "ip6", table: "flannel-ipv6" },
};
const MASQ_CHAIN = "postrtg";
const FORWARD_CHAIN = "forward";

/** The commands that make one family's table hold exactly the rules `overlay` asks for. */
export function familyCommands(overlay: FamilyOverlay): string[] {
  const { family, table } = OVERLAY_NFT_TABLES[overlay.family];
  const at = `${family} ${table}`;
  const ip = family;
  const { clusterNetwork: cluster, nodeSubnet: node } = overlay;
  const masquerade = overlay.randomFully ? "masquerade fully-random" : "masquerade";
  const chain = (name: string, spec: string, comment: string, rules: readonly string[]) => [
    `add chain ${at} ${name} { ${spec} ; comment ${nftString(comment)} ; }`,
    `flush chain ${at} ${name}`,
    ...rules.map((rule) => `add rule ${at} ${name} ${rule}`),
  ];
  return [
    `add table ${at} { comment ${nftString(`rules for ${table}`)} ; }`,
    ...(overlay.masquerade
      ? chain(
          MASQ_CHAIN,
          "type nat hook postrouting priority srcnat",
          "chain to manage traffic masquerading by flannel",
          [
            "meta mark & 0x4000 == 0x4000 return",
            `${ip} saddr ${node} ${ip} daddr ${cluster} return`,
            `${ip} saddr ${cluster} ${ip} daddr ${node} return`,
            `${ip} saddr != ${cluster} ${ip} daddr ${node} return`,
            `${ip} saddr ${cluster} ${ip} daddr != ${MULTICAST[overlay.family]} ${masquerade}`,
            `${ip} saddr != ${cluster} ${ip} daddr ${cluster} ${masquerade}`,
          ],
        )
      : deleteChainCommands(family, table, MASQ_CHAIN)),
    ...(overlay.forward
      ? chain(FORWARD_CHAIN, "type filter hook forward priority filter", "chain to accept flannel traffic", [
          `${ip} saddr ${cluster} accept`,
          `${ip} daddr ${cluster} accept`,
        ])
      : deleteChainCommands(family, table, FORWARD_CHAIN)),
  ];
}

/** One transaction for both families; a family that is not configured loses its table. */
export function planNftablesOverlay(plan: OverlayPlan): string {
  return nftScript(
    FAMILIES.flatMap((family) => {
      const overlay = plan[family];
      const { family: nftFamily, table } = OVERLAY_NFT_TABLES[family];
      return overlay === undefined ? deleteTableCommands(nftFamily, table) : familyCommands(overlay);
    }),
  );
}

export async function ensureNftablesOverlay(plan: OverlayPlan): Promise<void> {
  await nftApply(planNftablesOverlay(plan));
}

/** Deletes both flannel tables, wherever nftables works. */
export async function removeNftablesOverlay(): Promise<void> {
  const commands = FAMILIES.flatMap((family) =>
    deleteTableCommands(OVERLAY_NFT_TABLES[family].family, OVERLAY_NFT_TABLES[family].table),
  );
  await cleanUpUnlessUnavailable(() => nftApply(nftScript(commands)), nftablesWorks);
}
