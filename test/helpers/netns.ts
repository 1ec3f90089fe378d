// Network namespaces made by tests. Every test works inside namespaces it created (a "host" one
// standing in for the node, pod ones for containers) and never touches the root namespace. Names
// carry the test process's PID so leftovers of this run can be found and removed.

import { type Netns, NetnsGroup } from "../../netlab/netns";

export const testNamespaces = new NetnsGroup(`tscni-t${process.pid}-`);

export type TestNetns = Netns;

export const TestNetns = {
  /** Creates a namespace with `lo` up, as a runtime would hand it over (or down with loUp false). */
  create: (label = "ns", options: { loUp?: boolean } = {}): TestNetns => testNamespaces.create(label, options),
};

/** Removes every namespace this process created and has not deleted yet. */
export function deleteAllTestNetns(): void {
  testNamespaces.deleteAll();
}
