// Every example under conf/ is a valid network configuration that the suite can serve.

import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { PLUGINS } from "../../../cmd/plugins";
import { JsonReader } from "../../../cni/json";
import { validateNetworkName } from "../../../cni/validate";
import { isSpecVersion } from "../../../cni/version";

const CONF_DIR = resolve(import.meta.dirname, "../../../conf");
const NETWORK_FILES = readdirSync(CONF_DIR).filter((file) => /\.(conflist|conf)$/.test(file));
// Reference meta plugins (containernetworking/plugins) a conflist may chain after ours, as
// kube-flannel's chains portmap.
const REFERENCE_META_PLUGINS = ["portmap", "tuning", "bandwidth", "firewall", "sbr", "vrf"];

describe("conf/ examples", () => {
  it("exist", () => {
    expect(NETWORK_FILES).to.not.deep.equal([]);
  });

  for (const file of NETWORK_FILES) {
    it(`${file} is a network configuration this binary serves`, () => {
      const reader = new JsonReader(JSON.parse(readFileSync(join(CONF_DIR, file), "utf8")));
      const version = reader.requireString("cniVersion");
      expect(isSpecVersion(version), version).to.equal(true);
      validateNetworkName(reader.requireString("name"));
      const plugins = file.endsWith(".conflist")
        ? (reader.array("plugins", (value, path) => new JsonReader(value, path)) ?? [])
        : [reader];
      expect(plugins).to.not.deep.equal([]);
      const [first, ...chained] = plugins.map((plugin) => plugin.requireString("type"));
      expect([...PLUGINS.keys()]).to.include(first);
      for (const type of chained) expect([...PLUGINS.keys(), ...REFERENCE_META_PLUGINS]).to.include(type);
    });
  }
});
