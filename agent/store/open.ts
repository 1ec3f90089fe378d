// Opening a lease store by kind. Each store is imported on demand: the CNI plugins share the
// binary and must never load node:http, node:fs/promises or the etcd client code.

import type { LeaseStore } from "../lease";
import type { EtcdStoreOptions } from "./etcd-store";
import type { FileStoreOptions } from "./file-store";

export type LeaseStoreOptions =
  ({ readonly kind: "file" } & FileStoreOptions) | ({ readonly kind: "etcd" } & EtcdStoreOptions);

export async function openLeaseStore(options: LeaseStoreOptions): Promise<LeaseStore> {
  switch (options.kind) {
    case "file":
      return (await import("./file-store")).openFileLeaseStore(options);
    case "etcd":
      return (await import("./etcd-store")).openEtcdLeaseStore(options);
  }
}
