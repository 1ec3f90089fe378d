// Names and comments of the reference plugins' masquerade rules (containernetworking/plugins
// pkg/utils FormatChainName/FormatComment, pkg/ip/ipmasq_nftables_linux.go), reproduced exactly so
// that rules written by the reference bridge are found and removed by ours, and the other way round.

import { createHash } from "node:crypto";

const sha512Hex = (text: string): string => createHash("sha512").update(text, "utf8").digest("hex");

/** iptables (both families): the nat chain of one (network, container): `CNI-` + 24 hex digits. */
export function masqueradeChainName(network: string, containerId: string): string {
  return `CNI-${sha512Hex(network + containerId).slice(0, 24)}`;
}

/** A chain name of the masquerade shape; chains of other plugins (portmap's CNI-DN-...) do not match. */
export const MASQUERADE_CHAIN_PATTERN = /^CNI-[0-9a-f]{24}$/;

/** xt_comment's limit: XT_MAX_COMMENT_LEN is 256 bytes with the NUL. */
const IPTABLES_COMMENT_MAX = 255;

/**
 * iptables: the comment on every masquerade rule, Go's `name: %q id: %q`. Identifiers too long for
 * it (the reference's ADD then fails in iptables) are cut, so that ADD and DEL still work; GC then
 * cannot tell such a chain's owner from its comment.
 */
export function iptablesMasqueradeComment(network: string, containerId: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerId)}`.slice(0, IPTABLES_COMMENT_MAX);
}

const IPTABLES_COMMENT_PATTERN = /^name: "((?:[^"\\]|\\.)*)" id: "((?:[^"\\]|\\.)*)"$/;

/** The (network, containerId) an iptables masquerade comment names, if it has that shape. */
export function parseIptablesMasqueradeComment(comment: string): { network: string; containerId: string } | undefined {
  const match = IPTABLES_COMMENT_PATTERN.exec(comment);
  if (match === null) return undefined;
  const unquote = (text: string): string => text.replace(/\\(.)/g, "$1");
  return { network: unquote(match[1] ?? ""), containerId: unquote(match[2] ?? "") };
}

/**
 * Go's %q for the identifiers CNI allows in network names and container IDs ([A-Za-z0-9_.-]), plus
 * the two characters that need an escape anywhere; control characters never reach this point.
 */
function goQuote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** nftables: the table, its family and chains (pkg/ip/ipmasq_nftables_linux.go). */
export const NFT_MASQUERADE = {
  family: "inet",
  table: "cni_plugins_masquerade",
  checksChain: "masq_checks",
  postroutingChain: "postrouting",
  tableComment: "Masquerading for plugins from github.com/containernetworking/plugins",
  checksChainComment: "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet",
} as const;

/** knftables.CommentLengthMax: the reference truncates its rule comments to this length. */
const NFT_COMMENT_MAX = 128;

/** nftables: the prefix of every rule comment of a network. */
export function nftNetworkHash(network: string): string {
  return sha512Hex(network).slice(0, 16);
}

/** nftables: the prefix of the rule comments of one attachment (network, ifName, containerId). */
export function nftAttachmentHash(network: string, ifName: string, containerId: string): string {
  return `${nftNetworkHash(network)}-${sha512Hex(`${ifName}:${containerId}`).slice(0, 16)}`;
}

/** nftables: the full comment, `<hash>, net: <network>, if: <ifName>, id: <containerId>` (at most 128 characters). */
export function nftMasqueradeComment(network: string, ifName: string, containerId: string): string {
  const plain = (text: string): string => text.replaceAll('"', "");
  const comment = `${nftAttachmentHash(network, ifName, containerId)}, net: ${plain(network)}, if: ${plain(ifName)}, id: ${plain(containerId)}`;
  return comment.slice(0, NFT_COMMENT_MAX);
}
