// The plugins this binary answers to, by the name it is invoked as (the CNI `type`). A plugin's
// code is imported only when a verb needs it, so VERSION and the "about" text stay cheap.

import type { Plugin } from "../cni/plugin";
import { SPEC_VERSIONS } from "../cni/version";

export const PLUGINS: ReadonlyMap<string, Plugin> = new Map(
  [
    {
      name: "bridge",
      versions: SPEC_VERSIONS,
      load: async () => (await import("../plugins/bridge/plugin")).commands,
    },
    {
      name: "loopback",
      versions: SPEC_VERSIONS,
      load: async () => (await import("../plugins/loopback/plugin")).commands,
    },
    {
      name: "host-local",
      versions: SPEC_VERSIONS,
      load: async () => (await import("../ipam/host-local/plugin")).commands,
    },
    {
      name: "flannel",
      versions: SPEC_VERSIONS,
      load: async () => (await import("../plugins/flannel/plugin")).commands,
    },
  ].map((plugin) => [plugin.name, plugin]),
);

/** The name of the binary itself; every plugin name is a link to it. */
export const BINARY_NAME = "tscni";
