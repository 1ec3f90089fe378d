// The agent's process: wires the command line to the lease store, the network config, the
// overlay rules and the datapath, serves health and metrics, and stops on SIGTERM/SIGINT leaving
// the datapath up. Also the cleanup command.

import { readFileSync, rmSync } from "node:fs";

import { createLogSink, type Logger } from "../cni/log";
import { type Handle, openHandle } from "../native/netlink/handle";
import type { AgentCommandOptions, CleanupCommandOptions, StoreSelection } from "./cli";
import { DEFAULT_STORE } from "./cli";
import { removeDatapath } from "./cleanup";
import { Agent, LeaseRevokedError } from "./daemon";
import { HealthServer, parseListenAddress } from "./health-server";
import type { LeaseStore } from "./lease";
import { type NetworkConfig, parseNetworkConfig } from "./network-config";
import { readSubnetEnv, type SubnetEnv } from "./subnet-env";

export async function runAgent(options: AgentCommandOptions): Promise<number> {
  const sink = createLogSink({
    level: options.logLevel,
    stderr: (line) => console.error(line),
    ...(options.logFile !== undefined ? { file: options.logFile } : {}),
  });
  const log = sink.logger;
  let store: LeaseStore | undefined;
  let handle: Handle | undefined;
  let server: HealthServer | undefined;
  try {
    store = await openStore(options, log);
    const { config, nftables } = await loadNetworkConfig(options.netConfigPath, store);
    handle = await openHandle();
    const [{ acquireLease, renewAt }, { ensureOverlayRules }] = await Promise.all([
      import("./subnet-lease"),
      import("../firewall/overlay-rules"),
    ]);
    const agent = new Agent(
      handle,
      config,
      {
        underlay: {
          ifaces: options.iface,
          ifaceRegexes: options.ifaceRegex,
          publicIp: options.publicIp,
          publicIpv6: options.publicIpv6,
          ipv4: config.enableIPv4,
          ipv6: config.enableIPv6,
        },
        subnetFile: options.subnetFile,
        ipMasq: options.ipMasq,
        reconcileIntervalSeconds: options.reconcileInterval,
        leaseTtlSeconds: options.subnetLeaseTtl,
        renewMarginSeconds: options.subnetLeaseRenewMargin * 60,
      },
      {
        store,
        acquireLease: (leaseStore, request) => acquireLease(leaseStore, { ...request, logger: log }),
        renewAt,
        ensureOverlayRules: (env) =>
          ensureOverlayRules({
            backend: nftables ? "nftables" : "iptables",
            ...overlayNetworks(env),
            masquerade: options.ipMasq,
            forward: true,
            randomFully: true,
          }),
      },
      log,
    );
    if (options.metricsAddress !== "") {
      server = await HealthServer.listen(parseListenAddress(options.metricsAddress), agent);
      log.info("serving /healthz, /readyz and /metrics", { address: options.metricsAddress });
    }
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info("stopping; the datapath stays up", { signal });
      void agent.stop();
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    await agent.start();
    log.info("ready", { lease: agent.currentLease?.key });
    await agent.done;
    return 0;
  } catch (error: unknown) {
    if (error instanceof LeaseRevokedError) log.error(error.message);
    else log.error("the agent failed", { error: error instanceof Error ? error.message : String(error) });
    return 1;
  } finally {
    await server?.close();
    await store?.close().catch(() => {});
    handle?.close();
    await sink.flush();
  }
}

/** Opens the store the flags select (the agent's, and `tscni doctor`'s to read the leases). */
export async function openStore(options: StoreSelection, log: Logger): Promise<LeaseStore> {
  const { openLeaseStore } = await import("./store/open");
  if (options.etcdEndpoints.length > 0) {
    const tls = {
      ...(options.etcdCafile !== undefined ? { caFile: options.etcdCafile } : {}),
      ...(options.etcdCertfile !== undefined ? { certFile: options.etcdCertfile } : {}),
      ...(options.etcdKeyfile !== undefined ? { keyFile: options.etcdKeyfile } : {}),
    };
    log.info("using the etcd lease store", { endpoints: options.etcdEndpoints, prefix: options.etcdPrefix });
    return openLeaseStore({
      kind: "etcd",
      endpoints: options.etcdEndpoints,
      prefix: options.etcdPrefix,
      ...(Object.keys(tls).length > 0 ? { tls } : {}),
      logger: log,
    });
  }
  const directory = (options.store ?? DEFAULT_STORE).slice("file:".length);
  log.info("using the file lease store", { directory });
  return openLeaseStore({ kind: "file", directory, logger: log });
}

/** The net-conf.json file when given, else the store's (etcd's `<prefix>/config`). */
async function loadNetworkConfig(
  path: string | undefined,
  store: LeaseStore | undefined,
): Promise<{ config: NetworkConfig; nftables: boolean }> {
  const text = path !== undefined ? readFileSync(path, "utf8") : await store?.readNetworkConfig();
  if (text === undefined) {
    throw new Error("no network config: pass --net-config-path, or store one (etcd: <prefix>/config)");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new Error(`${path ?? "the stored network config"} is not JSON`, { cause: error });
  }
  const enableNFTables = (json as { EnableNFTables?: unknown } | null)?.EnableNFTables;
  return { config: parseNetworkConfig(json), nftables: enableNFTables === true };
}

function overlayNetworks(env: SubnetEnv) {
  return {
    ...(env.network !== undefined && env.subnet !== undefined
      ? { ipv4: { clusterNetwork: env.network, nodeSubnet: env.subnet } }
      : {}),
    ...(env.ipv6Network !== undefined && env.ipv6Subnet !== undefined
      ? { ipv6: { clusterNetwork: env.ipv6Network, nodeSubnet: env.ipv6Subnet } }
      : {}),
  };
}

export async function runCleanup(options: CleanupCommandOptions): Promise<number> {
  const sink = createLogSink({ level: options.logLevel, stderr: (line) => console.error(line) });
  const log = sink.logger;
  let handle: Handle | undefined;
  try {
    const previous = readSubnetEnv(options.subnetFile);
    const config =
      options.netConfigPath !== undefined
        ? (await loadNetworkConfig(options.netConfigPath, undefined)).config
        : undefined;
    const networks = [config?.network ?? previous?.network, config?.ipv6Network ?? previous?.ipv6Network];
    handle = await openHandle();
    const removed = removeDatapath(handle, {
      vni: config?.backend.vni ?? 1,
      networks: networks.filter((n) => n !== undefined),
      ownSubnets: [previous?.subnet, previous?.ipv6Subnet].filter((s) => s !== undefined),
    });
    const { removeOverlayRules } = await import("../firewall/overlay-rules");
    await removeOverlayRules();
    rmSync(options.subnetFile, { force: true });
    log.info("removed the overlay", { removed: [...removed, "overlay rules", options.subnetFile] });
    return 0;
  } catch (error: unknown) {
    log.error("cleanup failed", { error: error instanceof Error ? error.message : String(error) });
    return 1;
  } finally {
    handle?.close();
    await sink.flush();
  }
}
