// The flannel plugin's own configuration, with upstream's keys and defaults:
//
//   {"type": "flannel", "name": "cbr0", "cniVersion": "1.0.0",
//    "subnetFile": "/run/flannel/subnet.env",   where the node daemon publishes this node's lease
//    "dataDir": "/var/lib/cni/flannel",         where each container's delegate config is saved
//    "delegate": {...},                         merged into the generated delegate config
//    "ipam": {...},                             the base of the delegate's IPAM object
//    "runtimeConfig": {...}}                    passed to the delegate (capabilities)

import { CniError, ErrorCode } from "../../cni/errors";
import { type JsonObject, JsonReader, JsonShapeError } from "../../cni/json";
import type { NetConf } from "../../cni/plugin";
import { DEFAULT_SUBNET_FILE } from "./subnet-env";

export const DEFAULT_DATA_DIR = "/var/lib/cni/flannel";

export interface FlannelConf {
  readonly name: string;
  /** As written in the config: the delegate inherits it only when present. */
  readonly cniVersion: string | undefined;
  readonly subnetFile: string;
  readonly dataDir: string;
  readonly delegate: JsonObject | undefined;
  readonly ipam: JsonObject | undefined;
  readonly runtimeConfig: JsonObject | undefined;
}

/** Reads the plugin's keys; a key of the wrong type is an invalid network config (code 7). */
export function parseFlannelConf(config: NetConf): FlannelConf {
  try {
    const reader = new JsonReader(config.raw);
    const nonEmpty = (key: string): string | undefined => {
      const value = reader.string(key);
      return value === "" ? undefined : value;
    };
    return {
      name: config.name,
      cniVersion: nonEmpty("cniVersion"),
      subnetFile: nonEmpty("subnetFile") ?? DEFAULT_SUBNET_FILE,
      dataDir: nonEmpty("dataDir") ?? DEFAULT_DATA_DIR,
      delegate: reader.child("delegate")?.object,
      ipam: reader.child("ipam")?.object,
      runtimeConfig: reader.child("runtimeConfig")?.object,
    };
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid flannel network configuration", error.message, {
        cause: error,
      });
    }
    throw error;
  }
}
