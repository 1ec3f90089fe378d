// `tscni doctor`: gathers the node's state (read-only: netlink dumps, files, iptables-save and
// nft list, the lease store's list), runs the checks, prints the report. Exit status 1 when a
// check failed, 0 otherwise (warnings included).

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { DEFAULT_STORE } from "../../agent/cli";
import type { Lease } from "../../agent/lease";
import { type NetworkConfig, parseNetworkConfigText } from "../../agent/network-config";
import { createLogSink, type Logger } from "../../cni/log";
import { type Handle, openHandle } from "../../native/netlink/handle";
import { loadSubnetEnv, type SubnetEnv, SubnetEnvError } from "../../plugins/flannel/subnet-env";
import { type Findings, runChecks } from "./checks";
import type { DoctorCommandOptions } from "./cli";
import { inspectCni } from "./inspect-cni";
import { inspectForwarding, readBrNetfilter } from "./inspect-firewall";
import { inspectIpam } from "./inspect-ipam";
import { bridgeStates, inspectLinks, vxlanStates } from "./inspect-links";
import { inspectPeers, type OverlayContext } from "./inspect-peers";
import { renderReport } from "./render";
import { DOCTOR_SCHEMA_VERSION, type DoctorReport, type PeersState, type SubnetEnvState } from "./report";

export async function runDoctor(options: DoctorCommandOptions): Promise<number> {
  const sink = createLogSink({ level: "error", stderr: (line) => console.error(line) });
  let handle: Handle | undefined;
  try {
    handle = await openHandle();
    const report = await diagnose(options, handle, sink.logger);
    console.log(options.json ? JSON.stringify(report, null, 2) : renderReport(report));
    return report.ok ? 0 : 1;
  } catch (error: unknown) {
    console.error(`doctor: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  } finally {
    handle?.close();
    await sink.flush();
  }
}

export async function diagnose(options: DoctorCommandOptions, handle: Handle, log: Logger): Promise<DoctorReport> {
  const { env, state: subnetEnv } = await readSubnetEnv(options.subnetFile);
  const cni = await inspectCni({ ...options, subnetEnv: env });
  const links = inspectLinks(handle);
  const networksByBridge = new Map<string, string[]>();
  for (const n of cni.bridgeNetworks)
    networksByBridge.set(n.bridge, [...(networksByBridge.get(n.bridge) ?? []), n.network]);

  const { leases, config, error, store } = await readLeases(options, log);
  const networks: OverlayContext["networks"] = {
    4: familyNetworks(env?.networks[0] ?? config?.network, env?.subnet),
    6: familyNetworks(env?.ipv6Networks[0] ?? config?.ipv6Network, env?.ipv6Subnet),
  };
  const peers: PeersState = {
    store,
    error,
    devices:
      error === null
        ? inspectPeers(handle, links, leases, { networks, directRouting: config?.backend.directRouting ?? false })
        : [],
  };
  const forwarding = await inspectForwarding({ 4: networks[4]?.network, 6: networks[6]?.network });
  const findings: Findings = {
    confDir: options.confDir,
    binDirs: options.binDirs,
    subnetEnv,
    networks: cni.networks,
    configProblems: cni.problems,
    configWarnings: cni.warnings,
    expectations: cni.bridgeNetworks,
    bridges: bridgeStates(links, networksByBridge),
    vxlanDevices: vxlanStates(links),
    peers,
    ipam: await inspectIpam(cni.bridgeNetworks, cni.dataDirs, options.cacheDir),
    forwarding: forwarding.chains,
    forwardingUnavailable: forwarding.unavailable,
    brNetfilter: readBrNetfilter(handle),
  };
  const checks = runChecks(findings);
  return {
    schemaVersion: DOCTOR_SCHEMA_VERSION,
    ok: checks.every((c) => c.status !== "fail"),
    subnetEnv,
    networks: findings.networks,
    bridges: findings.bridges,
    vxlanDevices: findings.vxlanDevices,
    peers,
    ipam: findings.ipam,
    forwarding: findings.forwarding,
    brNetfilter: findings.brNetfilter,
    checks,
  };
}

const familyNetworks = (network: string | undefined, ownSubnet: string | undefined) =>
  network === undefined ? undefined : { network, ownSubnet };

async function readSubnetEnv(path: string): Promise<{ env: SubnetEnv | undefined; state: SubnetEnvState }> {
  try {
    const env = await loadSubnetEnv(path);
    return {
      env,
      state: {
        path,
        state: "ok",
        networks: env.networks,
        subnet: env.subnet ?? null,
        ipv6Networks: env.ipv6Networks,
        ipv6Subnet: env.ipv6Subnet ?? null,
        mtu: env.mtu,
        ipMasq: env.ipMasq,
      },
    };
  } catch (error: unknown) {
    if (!(error instanceof SubnetEnvError)) throw error;
    return { env: undefined, state: { path, state: error.problem, error: error.message } };
  }
}

interface StoreReading {
  readonly store: string;
  readonly leases: Lease[];
  readonly config: NetworkConfig | undefined;
  readonly error: string | null;
}

/** The leases and the network config (net-conf.json when given, else the store's), never writing. */
async function readLeases(options: DoctorCommandOptions, log: Logger): Promise<StoreReading> {
  const etcd = options.etcdEndpoints.length > 0;
  const directory = (options.store ?? DEFAULT_STORE).slice("file:".length);
  const store = etcd ? `etcd:${options.etcdEndpoints.join(",")}${options.etcdPrefix}` : `file:${directory}`;
  let config: NetworkConfig | undefined;
  try {
    if (options.netConfigPath !== undefined)
      config = parseNetworkConfigText(readFileSync(options.netConfigPath, "utf8"));
    // Opening the file store creates its directory: a missing one is reported, not made.
    if (!etcd && !existsSync(join(directory, "subnets"))) {
      return { store, leases: [], config, error: `no lease store in ${directory}` };
    }
    const { openStore } = await import("../../agent/run");
    const opened = await openStore(options, log);
    try {
      const text = config === undefined ? await opened.readNetworkConfig() : undefined;
      if (text !== undefined) config = parseNetworkConfigText(text);
      return { store, leases: await opened.list(), config, error: null };
    } finally {
      await opened.close();
    }
  } catch (error: unknown) {
    return { store, leases: [], config, error: error instanceof Error ? error.message : String(error) };
  }
}
