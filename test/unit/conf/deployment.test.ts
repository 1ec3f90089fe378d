// The deployment files under conf/ agree with each other and with the code: kube-flannel's
// conflist and net-conf.json, the agent's systemd unit, the Kubernetes manifest. Every command
// line in them is parsed with the binary's own yargs definitions, strictly.

import { expect } from "chai";
import { readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

import { loadAll } from "js-yaml";
import yargs, { type Argv } from "yargs";

import { daemonOptions, DEFAULT_METRICS_ADDRESS, DEFAULT_SUBNET_FILE as AGENT_SUBNET_FILE } from "../../../agent/cli";
import { parseNetworkConfig } from "../../../agent/network-config";
import { BINARY_NAME } from "../../../cmd/plugins";
import { isObject, JsonReader } from "../../../cni/json";
import packageJson from "../../../package.json" with { type: "json" };
import { DEFAULT_SUBNET_FILE as PLUGIN_SUBNET_FILE } from "../../../plugins/flannel/subnet-env";
import { DEFAULT_CONF_DIR, DEFAULT_DESTINATION, installOptions } from "../../../tools/install/cli";
import { parseNetworkConfigFile } from "../../../tools/network-config-files";
import { parseUnitFile, type UnitFile } from "../../support/systemd-unit";

const CONF = resolve(import.meta.dirname, "../../../conf");
const read = (file: string): string => readFileSync(join(CONF, file), "utf8");
const json = (file: string): unknown => JSON.parse(read(file));

// kube-flannel.yml v0.28.9, ConfigMap kube-flannel-cfg, verbatim.
const KUBE_FLANNEL_CNI_CONF = {
  name: "cbr0",
  cniVersion: "0.3.1",
  plugins: [
    { type: "flannel", delegate: { hairpinMode: true, isDefaultGateway: true } },
    { type: "portmap", capabilities: { portMappings: true } },
  ],
};
const KUBE_FLANNEL_NET_CONF = { Network: "10.244.0.0/16", EnableNFTables: false, Backend: { Type: "vxlan" } };

/** Parses a command line with a yargs definition, strictly: an unknown flag or argument throws. */
function parseStrictly(define: (y: Argv) => Argv, args: readonly string[]): Record<string, unknown> {
  const parser = define(yargs([]))
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      throw error ?? new Error(message);
    });
  return parser.parseSync([...args]) as Record<string, unknown>;
}

/** FLANNELD_IP_MASQ -> ip-masq, as yargs' .env("FLANNELD") maps them. */
const flagOfVariable = (name: string): string => name.slice("FLANNELD_".length).toLowerCase().replaceAll("_", "-");

describe("conf/ deployment files", () => {
  describe("10-flannel.conflist and net-conf.json", () => {
    it("10-flannel.conflist is kube-flannel's cni-conf.json", () => {
      expect(json("10-flannel.conflist")).to.deep.equal(KUBE_FLANNEL_CNI_CONF);
      parseNetworkConfigFile("10-flannel.conflist", read("10-flannel.conflist"));
    });

    it("net-conf.json is kube-flannel's and the agent reads it", () => {
      expect(json("net-conf.json")).to.deep.equal(KUBE_FLANNEL_NET_CONF);
      const config = parseNetworkConfig(json("net-conf.json"));
      expect(config.network).to.equal("10.244.0.0/16");
      expect(config.backend.type).to.equal("vxlan");
    });
  });

  describe("tscni-agent.service", () => {
    let unit: UnitFile;
    let execStart: string[];

    before(() => {
      unit = parseUnitFile(read("tscni-agent.service"));
      execStart = unit.one("Service", "ExecStart").split(/\s+/);
    });

    it("runs the binary where make install and tscni install put it, with flags the agent has", () => {
      const [binary, command, ...args] = execStart;
      expect(binary).to.equal(join(DEFAULT_DESTINATION, BINARY_NAME));
      expect(command).to.equal("agent");
      const argv = parseStrictly(daemonOptions, args);
      expect(argv["subnet-file"]).to.equal(PLUGIN_SUBNET_FILE);
      expect(basename(String(argv["net-config-path"]))).to.equal("net-conf.json");
      // The store is left to the environment file (FLANNELD_ETCD_ENDPOINTS), which --store would contradict.
      expect(argv["store"]).to.equal(undefined);
    });

    it("restarts always, after the network is online, and keeps /run/flannel across restarts", () => {
      expect(unit.one("Service", "Restart")).to.equal("always");
      expect(unit.one("Unit", "After").split(/\s+/)).to.include("network-online.target");
      expect(unit.one("Unit", "Wants").split(/\s+/)).to.include("network-online.target");
      expect(`/run/${unit.one("Service", "RuntimeDirectory")}`).to.equal(dirname(PLUGIN_SUBNET_FILE));
      expect(unit.one("Service", "RuntimeDirectoryPreserve")).to.equal("yes");
      expect(unit.one("Install", "WantedBy")).to.equal("multi-user.target");
    });

    it("is hardened but keeps what netlink and iptables need", () => {
      expect(unit.one("Service", "CapabilityBoundingSet").split(/\s+/).sort()).to.deep.equal([
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
      ]);
      expect(unit.one("Service", "NoNewPrivileges")).to.equal("yes");
      expect(unit.one("Service", "RestrictAddressFamilies").split(/\s+/)).to.include.members(["AF_NETLINK", "AF_INET"]);
      for (const key of ["PrivateNetwork", "ProtectKernelTunables", "MemoryDenyWriteExecute", "User"]) {
        expect(unit.all("Service", key), key).to.deep.equal([]);
      }
    });
  });

  describe("kube-tscni.yml", () => {
    const documents = loadAll(read("kube-tscni.yml")).filter(isObject);
    const ofKind = (kind: string) => documents.filter((d) => d["kind"] === kind).map((d) => new JsonReader(d));
    const configMap = ofKind("ConfigMap")[0]!;
    const daemonSet = ofKind("DaemonSet")[0]!;
    const podSpec = daemonSet.child("spec")!.child("template")!.child("spec")!;
    const containers = (key: string) => podSpec.array(key, (c, path) => new JsonReader(c, path)) ?? [];
    const [installer] = containers("initContainers");
    const [agent] = containers("containers");
    const data = (key: string): string => configMap.child("data")!.requireString(key);

    const volumes = new Map(
      (podSpec.array("volumes", (v, path) => new JsonReader(v, path)) ?? []).map((v) => [v.requireString("name"), v]),
    );
    /** The host path a container path lies in, through the container's hostPath mounts. */
    const hostPathOf = (container: JsonReader, path: string): string | undefined => {
      for (const mount of container.array("volumeMounts", (m, at) => new JsonReader(m, at)) ?? []) {
        const mountPath = mount.requireString("mountPath").replace(/\/$/, "");
        const host = volumes.get(mount.requireString("name"))?.child("hostPath")?.requireString("path");
        if (host !== undefined && (path === mountPath || path.startsWith(`${mountPath}/`))) {
          return host + path.slice(mountPath.length);
        }
      }
      return undefined;
    };
    /** The ConfigMap key a container path names, through the container's configMap mounts. */
    const configMapKeyOf = (container: JsonReader, path: string): string | undefined => {
      for (const mount of container.array("volumeMounts", (m, at) => new JsonReader(m, at)) ?? []) {
        const mountPath = mount.requireString("mountPath").replace(/\/$/, "");
        const source = volumes.get(mount.requireString("name"))?.child("configMap")?.requireString("name");
        if (source === configMap.child("metadata")?.string("name") && dirname(path) === mountPath)
          return basename(path);
      }
      return undefined;
    };
    const command = (container: JsonReader | undefined) => container?.stringArray("command") ?? [];

    it("holds a namespace, the ConfigMap and the DaemonSet: no ServiceAccount or RBAC (the agent uses no API)", () => {
      expect(documents.map((d) => d["kind"])).to.deep.equal(["Namespace", "ConfigMap", "DaemonSet"]);
      expect(podSpec.boolean("automountServiceAccountToken")).to.equal(false);
      expect(podSpec.boolean("hostNetwork")).to.equal(true);
    });

    it("the ConfigMap's cni-conf.json and net-conf.json are the files in conf/", () => {
      expect(JSON.parse(data("cni-conf.json"))).to.deep.equal(json("10-flannel.conflist"));
      expect(JSON.parse(data("net-conf.json"))).to.deep.equal(json("net-conf.json"));
      parseNetworkConfig(JSON.parse(data("net-conf.json")));
    });

    it("the init container runs the installer into the host's CNI bin and config dirs", () => {
      const [binary, verb, ...args] = command(installer);
      expect(verb).to.equal("install");
      const argv = parseStrictly(installOptions, args);
      expect(hostPathOf(installer!, String(argv["dest"]))).to.equal(DEFAULT_DESTINATION);
      expect(hostPathOf(installer!, String(argv["conf-dir"]))).to.equal(DEFAULT_CONF_DIR);
      expect(configMapKeyOf(installer!, String(argv["conflist"]))).to.equal("cni-conf.json");
      expect(argv["conf-name"]).to.equal("10-flannel.conflist");
      expect(binary).to.equal(command(agent)[0]);
      expect(basename(binary ?? "")).to.equal(BINARY_NAME);
    });

    it("the agent's flags and FLANNELD_* variables are the agent's own", () => {
      const [, verb, ...args] = command(agent);
      expect(verb).to.equal("agent");
      const argv = parseStrictly(daemonOptions, args);
      const env = agent!.array("env", (e, path) => new JsonReader(e, path)) ?? [];
      expect(env).to.not.deep.equal([]);
      for (const variable of env) {
        const name = variable.requireString("name");
        expect(name).to.match(/^FLANNELD_/);
        const ref = variable.child("valueFrom")?.child("configMapKeyRef");
        const value = ref === undefined ? variable.requireString("value") : data(ref.requireString("key"));
        // As the flag it stands for, the variable's value passes the agent's strict parsing.
        const flag = flagOfVariable(name);
        expect(parseStrictly(daemonOptions, [...args, `--${flag}=${value}`])[flag], name).to.deep.equal(
          flag === "etcd-endpoints" ? [value] : value,
        );
      }
      expect(argv["subnet-file"]).to.equal(AGENT_SUBNET_FILE);
      expect(hostPathOf(agent!, String(argv["subnet-file"]))).to.equal(PLUGIN_SUBNET_FILE);
      expect(configMapKeyOf(agent!, String(argv["net-config-path"]))).to.equal("net-conf.json");
    });

    it("probes the agent's health endpoints on its metrics address", () => {
      const argv = parseStrictly(daemonOptions, command(agent).slice(2));
      const address = String(argv["metrics-address"]);
      expect(address).to.equal(DEFAULT_METRICS_ADDRESS);
      for (const [probe, path] of [
        ["livenessProbe", "/healthz"],
        ["readinessProbe", "/readyz"],
      ] as const) {
        const get = agent!.child(probe)!.child("httpGet")!;
        expect(`${get.requireString("host")}:${get.integer("port")}`, probe).to.equal(address);
        expect(get.requireString("path")).to.equal(path);
      }
    });

    it("grants the agent the systemd unit's capabilities, and the same image as the installer", () => {
      const unit = parseUnitFile(read("tscni-agent.service"));
      const added = agent!.child("securityContext")!.child("capabilities")!.stringArray("add") ?? [];
      expect(added.map((c) => `CAP_${c}`).sort()).to.deep.equal(
        unit.one("Service", "CapabilityBoundingSet").split(/\s+/).sort(),
      );
      expect(agent!.child("securityContext")!.boolean("privileged")).to.equal(false);
      expect(installer!.requireString("image")).to.equal(agent!.requireString("image"));
      expect(agent!.requireString("image").split(":").at(-1)).to.equal(packageJson.version);
    });

    it("mounts only volumes it defines, and defines none it does not mount", () => {
      const mounted = new Set(
        [installer!, agent!].flatMap(
          (c) => c.array("volumeMounts", (m, at) => new JsonReader(m, at).requireString("name")) ?? [],
        ),
      );
      expect([...mounted].sort()).to.deep.equal([...volumes.keys()].sort());
    });
  });
});
