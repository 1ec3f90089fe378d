// Lease stores in separate processes (test/helpers/lease-store-driver), optionally inside a test
// network namespace: several agents racing for subnets, and etcd clients that reach an etcd
// listening inside a namespace without touching the root one.

import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

import type { Lease, LeaseAttrs, LeaseEvent, LeaseSubnets } from "../../agent/lease";
import type { LeaseStoreOptions } from "../../agent/store/open";
import type { TestNetns } from "./netns";
import { runOk } from "./run";
import { REPO_ROOT, scratchDir } from "./suite";

/** "compiled": a Bun-compiled binary built like dist/tscni; "node": tsx, as in development. */
export type DriverRuntime = "compiled" | "node";

const DRIVER_DIR = join(REPO_ROOT, "test/helpers/lease-store-driver");
const BUN_FLAGS = ["--compile", "--splitting", "--format=esm", "--bytecode", "--minify"];
const BUN_SAFETY = ["--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];

let compiledDriver: string | undefined;
const live = new Set<LeaseStoreDriver>();

process.on("exit", () => {
  for (const driver of live) driver.kill();
});

function compiledDriverPath(): string {
  if (compiledDriver === undefined) {
    const dir = scratchDir("lease-store-driver");
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const output = join(dir, "driver");
    runOk(join(REPO_ROOT, "node_modules/.bin/bun"), [
      "build",
      ...BUN_FLAGS,
      ...BUN_SAFETY,
      join(DRIVER_DIR, "compiled.ts"),
      "--outfile",
      output,
    ]);
    compiledDriver = output;
  }
  return compiledDriver;
}

export function reviveLease(json: unknown): Lease {
  const lease = json as Lease & { expiration?: string };
  return lease.expiration === undefined ? lease : { ...lease, expiration: new Date(lease.expiration) };
}

function reviveEvent(json: unknown): LeaseEvent {
  const event = json as { type: LeaseEvent["type"]; lease?: unknown; leases?: unknown[] };
  if (event.type === "snapshot") return { type: "snapshot", leases: (event.leases ?? []).map(reviveLease) };
  return { type: event.type, lease: reviveLease(event.lease) };
}

/** An error the store raised in the driver process, by class name. */
export class DriverError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class LeaseStoreDriver {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly watches = new Map<number, StoreWatch>();
  private nextId = 1;
  private stderrText = "";
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (this.stderrText += chunk));
    child.stdin.on("error", () => {}); // a killed driver: its exit is reported instead
  }

  static async start(
    options: LeaseStoreOptions,
    where: { readonly ns?: TestNetns; readonly runtime?: DriverRuntime } = {},
  ): Promise<LeaseStoreDriver> {
    const program =
      (where.runtime ?? "compiled") === "compiled"
        ? [compiledDriverPath()]
        : [join(REPO_ROOT, "node_modules/.bin/tsx"), join(DRIVER_DIR, "node.ts")];
    const command = where.ns === undefined ? program : ["ip", "netns", "exec", where.ns.name, ...program];
    const child = spawn(command[0] as string, [...command.slice(1), JSON.stringify(options)], { cwd: REPO_ROOT });
    const driver = new LeaseStoreDriver(child);
    live.add(driver);
    await driver.listen();
    return driver;
  }

  /** What the driver wrote on stderr (store warnings), for failure messages. */
  get stderr(): string {
    return this.stderrText;
  }

  config(): Promise<string | null> {
    return this.call("config") as Promise<string | null>;
  }

  async list(): Promise<Lease[]> {
    return ((await this.call("list")) as unknown[]).map(reviveLease);
  }

  async create(subnets: LeaseSubnets, attrs: LeaseAttrs, ttl: number): Promise<Lease | undefined> {
    const lease = await this.call("create", { subnets, attrs, ttl });
    return lease === null ? undefined : reviveLease(lease);
  }

  async renew(lease: Lease, attrs: LeaseAttrs, ttl: number): Promise<Lease> {
    return reviveLease(await this.call("renew", { lease, attrs, ttl }));
  }

  /** Renews `lease` `count` times in a row, the VNI counting from 1 to `count`. */
  async renewMany(lease: Lease, attrs: LeaseAttrs, count: number): Promise<Lease> {
    return reviveLease(await this.call("renewMany", { lease, attrs, count }));
  }

  async remove(key: string): Promise<void> {
    await this.call("remove", { key });
  }

  /** acquireLease with a net-conf.json object. */
  async acquire(
    config: object,
    attrs: LeaseAttrs,
    options: { readonly ttl?: number; readonly previous?: LeaseSubnets } = {},
  ): Promise<Lease> {
    return reviveLease(await this.call("acquire", { config, attrs, ttl: options.ttl ?? 3600, ...options }));
  }

  async watch(): Promise<StoreWatch> {
    const id = this.nextId; // the watch request's id names its events
    const watch = new StoreWatch(() => this.call("unwatch", { watch: id }).then(() => undefined));
    this.watches.set(id, watch);
    await this.call("watch");
    return watch;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    live.delete(this);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.kill(), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  private listen(): Promise<void> {
    return new Promise((ready, failed) => {
      this.child.once("exit", (code, signal) => {
        const error = new Error(`lease store driver exited (${code ?? signal}): ${this.stderrText.trim()}`);
        failed(error);
        for (const { reject } of this.pending.values()) reject(error);
      });
      createInterface({ input: this.child.stdout }).on("line", (line) => {
        const message = JSON.parse(line) as {
          ready?: boolean;
          id?: number;
          result?: unknown;
          error?: { name: string; message: string };
          watch?: number;
          event?: unknown;
        };
        if (message.ready === true) return ready();
        if (message.watch !== undefined) return this.watches.get(message.watch)?.push(reviveEvent(message.event));
        const waiter = this.pending.get(message.id ?? -1);
        this.pending.delete(message.id ?? -1);
        if (message.error !== undefined) waiter?.reject(new DriverError(message.error.name, message.error.message));
        else waiter?.resolve(message.result);
      });
    });
  }

  private call(op: string, fields: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
  }
}

/** The events of one watch, as they arrive. */
export class StoreWatch {
  readonly events: LeaseEvent[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly cancel: () => Promise<void>;

  constructor(cancel: () => Promise<void>) {
    this.cancel = cancel;
  }

  push(event: LeaseEvent): void {
    this.events.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** The first event from index `from` on that satisfies `match`; fails after `timeoutMs`. */
  async next(match: (event: LeaseEvent) => boolean, from = 0, timeoutMs = 20_000): Promise<LeaseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no matching lease event within ${timeoutMs} ms; got ${JSON.stringify(this.events)}`);
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  stop(): Promise<void> {
    return this.cancel();
  }
}
