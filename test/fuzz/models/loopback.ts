// loopback reads nothing beyond what the skeleton reads: every other key, CNI_ARGS and CNI_PATH
// are accepted whatever they hold, and CNI_IFNAME is validated but not used (it works on `lo`).

import { succeeds, type Verb } from "../fuzz-case";
import type { Prng } from "../prng";
import { garbageTree } from "../values";
import { baseVersion, commonKeys } from "./common";
import type { KeySpec, PluginModel } from "./model";

/** A bridge result, as a chain hands it to loopback. */
const PREV_RESULT = {
  cniVersion: "1.0.0",
  interfaces: [
    { name: "cni0", mac: "0a:58:0a:f4:00:01" },
    { name: "veth1234", mac: "0a:58:0a:f4:00:02" },
    { name: "eth0", mac: "0a:58:0a:f4:00:03", sandbox: "/var/run/netns/pod" },
  ],
  ips: [{ interface: 2, address: "10.244.0.5/24", gateway: "10.244.0.1" }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.244.0.1" }],
  dns: { nameservers: ["10.96.0.10"], search: ["default.svc.cluster.local"] },
};

/** Keys loopback is handed but does not read. */
const ignored = (key: string): KeySpec => ({
  path: [key],
  kind: "object",
  readBy: [],
  wrongType: succeeds,
  absent: succeeds,
  values: (rng: Prng) => ({ label: key, value: garbageTree(rng, 3), outcome: succeeds }),
});

function base(rng: Prng, verb: Verb) {
  const config: Record<string, unknown> = { cniVersion: baseVersion(rng, verb), name: "fz-lo", type: "loopback" };
  const label = rng.pick(["plain", "chained", "with runtime keys"]);
  if (label === "chained") config["prevResult"] = PREV_RESULT;
  if (label === "with runtime keys") {
    Object.assign(config, {
      capabilities: { portMappings: true },
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
      args: { cni: { labels: [{ key: "app", value: "web" }] } },
      dns: { nameservers: ["10.96.0.10"] },
    });
  }
  if (verb === "GC") config["cni.dev/valid-attachments"] = [{ containerID: "fz-other", ifname: "eth0" }];
  return { label: `loopback ${label}`, config };
}

export const loopback: PluginModel = {
  name: "loopback",
  base,
  keys: [...commonKeys({ longName: succeeds }), ignored("runtimeConfig"), ignored("args"), ignored("dns")],
  createsLink: false,
  longName: succeeds,
};
