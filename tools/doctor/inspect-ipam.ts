// host-local's reservations per network, read without taking the network's lock, and whether the
// container behind each one still has its network namespace.
//
// A reservation names a container ID and an interface, not a namespace. The namespace comes from
// libcni's result cache, which containerd, CRI-O, podman and cnitool write after every successful
// ADD and remove on DEL: <cacheDir>/results/<network>-<containerID>-<ifname>, holding `netns`
// (libcni 1.2 and later) or, in the cached result, the container interface's `sandbox`. A
// reservation whose recorded namespace is gone was leaked (its DEL never came or failed); one
// without a cache entry is "unrecorded": leaked too when the runtime uses libcni, unknown otherwise.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { isObject, JsonReader } from "../../cni/json";
import { parseAddress } from "../../ipam/host-local/address";
import { readReservations } from "../../ipam/host-local/disk-store";
import type { RangeSet } from "../../ipam/host-local/range-set";
import { probeNetns } from "../../native/netns";
import type { BridgeNetwork } from "./inspect-cni";
import type { AttachmentState, IpamNetworkState, ReservationState } from "./report";

interface IpamNetwork {
  readonly network: string;
  readonly dataDir: string;
  readonly rangeSets: readonly RangeSet[];
}

/** The configured networks' reservations, and those of any other network found in their data dirs. */
export async function inspectIpam(
  bridgeNetworks: readonly BridgeNetwork[],
  dataDirs: readonly string[],
  cacheDir: string,
): Promise<IpamNetworkState[]> {
  const networks: IpamNetwork[] = bridgeNetworks.flatMap((n) =>
    n.ipam === undefined ? [] : [{ network: n.network, ...n.ipam }],
  );
  for (const dataDir of new Set([...dataDirs, ...networks.map((n) => n.dataDir)])) {
    for (const name of subdirectories(dataDir)) {
      if (!networks.some((n) => n.dataDir === dataDir && n.network === name)) {
        networks.push({ network: name, dataDir, rangeSets: [] });
      }
    }
  }
  const cache = new ResultCache(cacheDir);
  return Promise.all(networks.map((network) => networkState(network, cache)));
}

async function networkState(network: IpamNetwork, cache: ResultCache): Promise<IpamNetworkState> {
  const directory = join(network.dataDir, network.network);
  const reservations = subdirectories(network.dataDir).includes(network.network) ? readReservations(directory) : [];
  const states = await Promise.all(
    reservations
      .sort((a, b) => a.address.localeCompare(b.address, "en", { numeric: true }))
      .map(async (r): Promise<ReservationState> => {
        const netns = cache.netnsOf(network.network, r.containerId, r.ifName);
        return {
          address: r.address,
          containerId: r.containerId,
          ifName: r.ifName ?? null,
          attachment: await attachmentOf(netns),
          netns: netns ?? null,
        };
      }),
  );
  return {
    network: network.network,
    dataDir: network.dataDir,
    rangeSets: network.rangeSets.map((set) => ({
      ranges: set.toString(),
      capacity: set.capacity().toString(),
      reserved: reservations.filter((r) => {
        const address = parseAddress(r.address);
        return address !== undefined && set.contains(address);
      }).length,
    })),
    reservations: states,
  };
}

async function attachmentOf(netns: string | undefined): Promise<AttachmentState> {
  if (netns === undefined) return "unrecorded";
  try {
    const kind = await probeNetns(netns);
    return kind === "netns" || kind === "own-netns" ? "live" : "gone";
  } catch {
    // Not readable (permissions): nothing says it is gone.
    return "live";
  }
}

function subdirectories(directory: string): string[] {
  try {
    return readdirSync(directory, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** libcni's result cache, read-only. */
class ResultCache {
  private readonly directory: string;
  private names: string[] | undefined;

  constructor(cacheDir: string) {
    this.directory = join(cacheDir, "results");
  }

  /** The namespace the runtime recorded for the attachment, if any. */
  netnsOf(network: string, containerId: string, ifName: string | undefined): string | undefined {
    // Reservations of old host-local versions do not name the interface: any of the container's.
    const prefix = `${network}-${containerId}-`;
    const names = ifName !== undefined ? [`${prefix}${ifName}`] : this.list().filter((n) => n.startsWith(prefix));
    for (const name of names) {
      const netns = this.read(name, ifName);
      if (netns !== undefined) return netns;
    }
    return undefined;
  }

  private list(): string[] {
    try {
      this.names ??= readdirSync(this.directory);
    } catch {
      this.names = [];
    }
    return this.names;
  }

  private read(name: string, ifName: string | undefined): string | undefined {
    try {
      const entry = new JsonReader(JSON.parse(readFileSync(join(this.directory, name), "utf8")));
      const netns = entry.string("netns");
      if (netns !== undefined && netns !== "") return netns;
      const interfaces = (entry.child("result")?.array("interfaces", (i) => i) ?? []).filter(isObject);
      const sandboxes = interfaces.filter((i) => typeof i["sandbox"] === "string" && i["sandbox"] !== "");
      const own = sandboxes.find((i) => i["name"] === ifName) ?? sandboxes[0];
      return own === undefined ? undefined : String(own["sandbox"]);
    } catch {
      return undefined;
    }
  }
}
