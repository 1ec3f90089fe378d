// A lease store in its own process, driven by JSON lines on stdin: how the tests put several
// agents' stores in separate processes (racing writers) and inside network namespaces (etcd
// clients). argv[2] is the LeaseStoreOptions JSON. Requests are {"id","op",...}; replies
// {"id","result"} or {"id","error":{"name","message"}}; a watch also writes {"event"} lines.

import { createInterface } from "node:readline";

import type { Logger } from "../../../cni/log";
import type { Lease, LeaseAttrs, LeaseStore, LeaseSubnets } from "../../../agent/lease";
import { parseNetworkConfig } from "../../../agent/network-config";
import { openLeaseStore, type LeaseStoreOptions } from "../../../agent/store/open";
import { acquireLease } from "../../../agent/subnet-lease";

interface Request {
  readonly id: number;
  readonly op: string;
  readonly [field: string]: unknown;
}

const stderrLogger: Logger = {
  error: (message, meta) => console.error(JSON.stringify({ level: "error", message, ...meta })),
  warn: (message, meta) => console.error(JSON.stringify({ level: "warn", message, ...meta })),
  info: () => {},
  debug: () => {},
  child: () => stderrLogger,
};

/** Leases arrive as JSON: the expiration is text again. */
function revive(json: unknown): Lease {
  const lease = json as Lease & { expiration?: string };
  return lease.expiration === undefined ? lease : { ...lease, expiration: new Date(lease.expiration) };
}

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function handle(store: LeaseStore, request: Request, watches: Map<number, AbortController>): Promise<unknown> {
  const field = <T>(name: string): T => request[name] as T;
  switch (request.op) {
    case "config":
      return (await store.readNetworkConfig()) ?? null;
    case "list":
      return store.list();
    case "create":
      return (await store.create(field<LeaseSubnets>("subnets"), field<LeaseAttrs>("attrs"), field("ttl"))) ?? null;
    case "renew":
      return store.renew(revive(request["lease"]), field<LeaseAttrs>("attrs"), field("ttl"));
    case "renewMany": {
      // Rewrites a lease `count` times, the VNI counting up: a reader checks it never sees a torn file.
      let lease = revive(request["lease"]);
      const attrs = field<LeaseAttrs>("attrs");
      for (let vni = 1; vni <= field<number>("count"); vni++) {
        lease = await store.renew(lease, { ...attrs, backendData: { vni, vtepMac: "02:00:00:00:00:01" } }, 3600);
      }
      return lease;
    }
    case "remove":
      await store.remove(field("key"));
      return null;
    case "acquire":
      return acquireLease(store, {
        config: parseNetworkConfig(request["config"]),
        attrs: field<LeaseAttrs>("attrs"),
        ttlSeconds: field("ttl"),
        ...(request["previous"] === undefined ? {} : { previous: field<LeaseSubnets>("previous") }),
      });
    case "watch": {
      const controller = new AbortController();
      watches.set(request.id, controller);
      void store.watch((event) => send({ watch: request.id, event }), controller.signal);
      return request.id;
    }
    case "unwatch":
      watches.get(field("watch"))?.abort();
      return null;
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

export async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as LeaseStoreOptions;
  const store = await openLeaseStore({ ...options, logger: stderrLogger });
  const watches = new Map<number, AbortController>();
  send({ ready: true });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const request = JSON.parse(line) as Request;
    handle(store, request, watches).then(
      (result) => send({ id: request.id, result }),
      (error: unknown) => {
        const { name, message } = error instanceof Error ? error : new Error(String(error));
        send({ id: request.id, error: { name, message } });
      },
    );
  }
  for (const controller of watches.values()) controller.abort();
  await store.close();
}
