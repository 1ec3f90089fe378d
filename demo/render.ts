// The demo's tables, as plain text: the connectivity matrix (every pod to every pod) and each
// node's peers. Pure functions of what was measured, so they are unit-tested without root.

import type { NodePeerView } from "./peer-view";

const OK = "✓";
const FAILED = "✗";

export interface MatrixPod {
  readonly name: string;
  readonly ip: string;
}

/**
 * Rows send, columns answer; the diagonal is "·". Columns are headed by the pod's name and address;
 * rows start with both.
 */
export function renderMatrix<P extends MatrixPod>(pods: readonly P[], reached: (from: P, to: P) => boolean): string[] {
  const rowLabels = pods.map((pod) => `${pod.name}  ${pod.ip}`);
  const labelWidth = Math.max(...rowLabels.map((label) => label.length), "from \\ to".length);
  const columnWidth = Math.max(...pods.flatMap((pod) => [pod.name.length, pod.ip.length])) + 2;
  const cell = (text: string) => center(text, columnWidth);
  return [
    ["".padEnd(labelWidth), ...pods.map((pod) => cell(pod.name))].join(" "),
    ["from \\ to".padEnd(labelWidth), ...pods.map((pod) => cell(pod.ip))].join(" "),
    ...pods.map((from, row) =>
      [
        (rowLabels[row] ?? "").padEnd(labelWidth),
        ...pods.map((to) => cell(from === to ? "·" : reached(from, to) ? OK : FAILED)),
      ].join(" "),
    ),
  ].map((line) => line.trimEnd());
}

/** Per node: its subnet and counts, then one line per leased peer with the kernel's entries for it. */
export function renderPeerViews(views: readonly NodePeerView[]): string[] {
  return views.flatMap((view) => {
    const programmed = view.peers.filter((peer) => peer.route && peer.neighbour && peer.fdb).length;
    const reported = view.reportedPeers === undefined ? "no answer" : String(view.reportedPeers);
    return [
      `${view.node}  ${view.subnet}  leased peers ${view.peers.length}, programmed ${programmed}, ` +
        `agent's /metrics tscni_agent_peers ${reported}`,
      ...view.peers.map(
        (peer) =>
          `  ${(peer.node ?? "?").padEnd(6)} ${peer.subnet.padEnd(18)} at ${peer.publicIp.padEnd(15)} ` +
          `vtep ${peer.vtepMac}  route ${mark(peer.route)}  neighbour ${mark(peer.neighbour)}  fdb ${mark(peer.fdb)}`,
      ),
      ...view.stale.map((entry) => `  stale: ${entry} (no lease)`),
    ];
  });
}

function mark(ok: boolean): string {
  return ok ? OK : FAILED;
}

function center(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return `${" ".repeat(Math.max(0, left))}${text}`.padEnd(width);
}
