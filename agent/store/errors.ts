// Errors of the lease stores, beyond "taken" (create returns undefined for that).

/** The store could not be read or written (I/O, lock timeout, etcd unreachable or refusing). */
export class LeaseStoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LeaseStoreError";
  }
}

/**
 * renew() found the key held by another node: this node lost its lease (it expired and another
 * node took the subnet, or an operator gave it away). The agent must acquire a lease again.
 */
export class LeaseConflictError extends LeaseStoreError {
  readonly key: string;

  constructor(key: string, holder: string) {
    super(`lease ${key} is now held by ${holder}`);
    this.name = "LeaseConflictError";
    this.key = key;
  }
}
