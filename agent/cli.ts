// `tscni agent`: the node agent's command line, with flanneld's flag names where flanneld has the
// flag, and FLANNELD_<FLAG> environment variables as flanneld reads them. Only the flag
// definitions live here; the agent itself is imported when the command runs.

import type { Argv, CommandModule } from "yargs";

import { isLogLevel, LOG_LEVELS, type LogLevel } from "../cni/log";

export const DEFAULT_SUBNET_FILE = "/run/flannel/subnet.env";
export const DEFAULT_STORE = "file:/var/lib/tscni/leases";
export const DEFAULT_METRICS_ADDRESS = "127.0.0.1:9479";
export const DEFAULT_ETCD_PREFIX = "/coreos.com/network";

/** Which lease store to open (the agent's flags, shared with `tscni doctor`). */
export interface StoreSelection {
  /** `file:<dir>`; ignored when etcd endpoints are given. */
  readonly store: string | undefined;
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  readonly etcdCafile: string | undefined;
  readonly etcdCertfile: string | undefined;
  readonly etcdKeyfile: string | undefined;
}

export interface AgentCommandOptions extends StoreSelection {
  readonly netConfigPath: string | undefined;
  readonly iface: readonly string[];
  readonly ifaceRegex: readonly string[];
  readonly publicIp: string | undefined;
  readonly publicIpv6: string | undefined;
  readonly subnetFile: string;
  readonly ipMasq: boolean;
  readonly reconcileInterval: number;
  /** Minutes, as flanneld's flag. */
  readonly subnetLeaseRenewMargin: number;
  readonly subnetLeaseTtl: number;
  /** host:port, or "" for none. */
  readonly metricsAddress: string;
  readonly logLevel: LogLevel;
  readonly logFile: string | undefined;
}

export interface CleanupCommandOptions {
  readonly netConfigPath: string | undefined;
  readonly subnetFile: string;
  readonly logLevel: LogLevel;
}

/** Runs what the command line asked for; resolves to the exit code. */
export type CommandRunner = (run: Promise<number>) => void;

const list = (values: unknown): string[] =>
  (Array.isArray(values) ? values : values === undefined ? [] : [values])
    .flatMap((v) => String(v).split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");

function commonOptions(yargs: Argv) {
  return yargs
    .option("net-config-path", {
      type: "string",
      describe: "flannel's net-conf.json; without it, the config is read from the store (etcd: <prefix>/config)",
    })
    .option("subnet-file", { type: "string", default: DEFAULT_SUBNET_FILE, describe: "Where subnet.env goes" })
    .option("log-level", {
      choices: LOG_LEVELS,
      default: "info" as LogLevel,
      describe: "Log level (logs go to stderr)",
    });
}

/** The lease store flags: `--store file:<dir>`, or etcd's endpoints, prefix and TLS files. */
export function storeOptions<T>(yargs: Argv<T>) {
  return yargs
    .option("store", { type: "string", describe: `Lease store: file:<directory> (default ${DEFAULT_STORE})` })
    .option("etcd-endpoints", { type: "string", array: true, describe: "etcd v3 endpoints (comma-separated URLs)" })
    .option("etcd-prefix", { type: "string", default: DEFAULT_ETCD_PREFIX, describe: "etcd key prefix" })
    .option("etcd-cafile", { type: "string", describe: "CA bundle to verify etcd (PEM)" })
    .option("etcd-certfile", { type: "string", describe: "Client certificate for etcd (PEM)" })
    .option("etcd-keyfile", { type: "string", describe: "Client key for etcd (PEM)" })
    .check((argv) => {
      const endpoints = list(argv["etcd-endpoints"]);
      if (endpoints.length > 0 && argv.store !== undefined)
        throw new Error("give --store or --etcd-endpoints, not both");
      if (argv.store !== undefined && !/^file:.+/.test(argv.store)) throw new Error("--store must be file:<directory>");
      return true;
    });
}

/** The store flags as parsed by storeOptions. */
export function storeSelection(argv: {
  readonly store?: string | undefined;
  readonly "etcd-endpoints"?: readonly string[] | undefined;
  readonly "etcd-prefix": string;
  readonly "etcd-cafile"?: string | undefined;
  readonly "etcd-certfile"?: string | undefined;
  readonly "etcd-keyfile"?: string | undefined;
}): StoreSelection {
  return {
    store: argv.store,
    etcdEndpoints: list(argv["etcd-endpoints"]),
    etcdPrefix: argv["etcd-prefix"],
    etcdCafile: argv["etcd-cafile"],
    etcdCertfile: argv["etcd-certfile"],
    etcdKeyfile: argv["etcd-keyfile"],
  };
}

/** Every flag of `tscni agent` (exported for the deployment files' consistency tests). */
export function daemonOptions(yargs: Argv) {
  return storeOptions(commonOptions(yargs))
    .option("iface", { type: "string", array: true, describe: "Underlay interface, by name or address (repeatable)" })
    .option("iface-regex", { type: "string", array: true, describe: "Underlay interface name or address regex" })
    .option("public-ip", { type: "string", describe: "IPv4 address peers reach this node at" })
    .option("public-ipv6", { type: "string", describe: "IPv6 address peers reach this node at" })
    .option("ip-masq", { type: "boolean", default: false, describe: "Masquerade pod traffic leaving the network" })
    .option("reconcile-interval", { type: "number", default: 30, describe: "Seconds between reconcile passes" })
    .option("subnet-lease-renew-margin", {
      type: "number",
      default: 60,
      describe: "Renew the lease this many minutes before it expires (1-1439)",
    })
    .option("subnet-lease-ttl", { type: "number", default: 86400, describe: "Lease lifetime in seconds" })
    .option("metrics-address", {
      type: "string",
      default: DEFAULT_METRICS_ADDRESS,
      describe: 'host:port of /healthz, /readyz and /metrics ("" for none)',
    })
    .option("log-file", { type: "string", describe: "Append logs to this file instead of stderr" })
    .check((argv) => {
      const interval = argv["reconcile-interval"];
      if (!(interval > 0)) throw new Error("--reconcile-interval must be a positive number of seconds");
      const margin = argv["subnet-lease-renew-margin"];
      if (!(Number.isInteger(margin) && margin >= 1 && margin <= 1439)) {
        throw new Error("--subnet-lease-renew-margin must be 1-1439 minutes");
      }
      if (!(argv["subnet-lease-ttl"] > margin * 60)) {
        throw new Error("--subnet-lease-ttl must be longer than the renew margin");
      }
      return true;
    });
}

export function agentCommand(runner: CommandRunner): CommandModule {
  return {
    command: "agent",
    describe: "The flannel-style node agent (VXLAN overlay); `agent cleanup` removes what it set up",
    builder: (yargs) =>
      yargs
        // flanneld reads every flag from FLANNELD_<FLAG> as well (FLANNELD_IFACE, FLANNELD_IP_MASQ...).
        .env("FLANNELD")
        .command({
          command: "$0",
          describe: "Run the agent",
          builder: daemonOptions,
          handler: (argv) => {
            const options: AgentCommandOptions = {
              netConfigPath: argv["net-config-path"],
              ...storeSelection(argv),
              iface: list(argv.iface),
              ifaceRegex: argv["iface-regex"]?.map(String) ?? [],
              publicIp: argv["public-ip"],
              publicIpv6: argv["public-ipv6"],
              subnetFile: argv["subnet-file"],
              ipMasq: argv["ip-masq"],
              reconcileInterval: argv["reconcile-interval"],
              subnetLeaseRenewMargin: argv["subnet-lease-renew-margin"],
              subnetLeaseTtl: argv["subnet-lease-ttl"],
              metricsAddress: argv["metrics-address"],
              logLevel: isLogLevel(argv["log-level"]) ? argv["log-level"] : "info",
              logFile: argv["log-file"],
            };
            runner(import("./run").then(({ runAgent }) => runAgent(options)));
          },
        })
        .command({
          command: "cleanup",
          describe: "Remove the VXLAN devices, DirectRouting routes, overlay rules and subnet.env (leases expire)",
          builder: commonOptions,
          handler: (argv) => {
            const options: CleanupCommandOptions = {
              netConfigPath: argv["net-config-path"],
              subnetFile: argv["subnet-file"],
              logLevel: isLogLevel(argv["log-level"]) ? argv["log-level"] : "info",
            };
            runner(import("./run").then(({ runCleanup }) => runCleanup(options)));
          },
        }),
    handler: () => {},
  };
}
