// loopback driven through the real libcni (1.1.2): config loading, the result cache, CHECK and DEL
// with the cached prevResult. Every node and pod is a namespace the test made.

import { expect } from "chai";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

import { DriverWorkspace } from "../helpers/driver";
import { TestNetns } from "../helpers/netns";
import { suiteDir } from "../helpers/suite";

interface IpLink {
  readonly flags: readonly string[];
}

const loUp = (ns: TestNetns): boolean => ns.ipJson<IpLink[]>("link", "show", "lo")[0]?.flags.includes("UP") ?? false;

// libcni 1.1.2 implements the spec up to 1.0.0; 1.1.0 (GC, STATUS) is tested by direct invocation.
const LIBCNI_VERSIONS = ["0.3.1", "0.4.0", "1.0.0"] as const;

describe("loopback through libcni", () => {
  let workspace: DriverWorkspace;
  let host: TestNetns;
  let pod: TestNetns;

  beforeEach(() => {
    workspace = new DriverWorkspace();
    host = TestNetns.create("node");
    pod = TestNetns.create("pod");
  });
  afterEach(() => {
    pod.delete();
    host.delete();
    workspace.remove();
  });

  const driver = (verb: "add" | "check" | "del", network = "lo-net") =>
    workspace.run(host, verb, network, pod.path, { CNI_PATH: suiteDir() });

  for (const cniVersion of LIBCNI_VERSIONS) {
    it(`ADD, CHECK, DEL, DEL with a ${cniVersion} conflist`, () => {
      workspace.writeConfig("10-lo.conflist", { cniVersion, name: "lo-net", plugins: [{ type: "loopback" }] });

      const added = driver("add");
      expect(added.status, added.stderr).to.equal(0);
      expect(loUp(pod)).to.equal(true);
      const result = JSON.parse(added.stdout) as { cniVersion: string; ips: { address: string }[] };
      expect(result.cniVersion).to.equal(cniVersion);
      expect(result.ips.map((ip) => ip.address)).to.deep.equal(["127.0.0.1/8", "::1/128"]);
      const cached = readdirSync(join(workspace.cacheDir, "results"));
      expect(cached).to.have.length(1);

      if (cniVersion !== "0.3.1") {
        const checked = driver("check");
        expect(checked.status, checked.stderr).to.equal(0);
      }

      const deleted = driver("del");
      expect(deleted.status, deleted.stderr).to.equal(0);
      expect(loUp(pod)).to.equal(false);
      expect(readdirSync(join(workspace.cacheDir, "results"))).to.deep.equal([]);

      const again = driver("del");
      expect(again.status, again.stderr).to.equal(0);
    });
  }

  it("CHECK reports lo taken down behind the runtime's back", () => {
    workspace.writeConfig("10-lo.conflist", { cniVersion: "1.0.0", name: "lo-net", plugins: [{ type: "loopback" }] });
    expect(driver("add").status).to.equal(0);
    pod.ip("link", "set", "lo", "down");
    const checked = driver("check");
    expect(checked.status).to.equal(1);
    expect(checked.stderr).to.contain("lo is down");
    expect(driver("del").status).to.equal(0);
  });

  it("works from a legacy single-plugin .conf file", () => {
    workspace.writeConfig("99-lo.conf", { cniVersion: "0.3.1", name: "legacy-lo", type: "loopback" });
    const added = driver("add", "legacy-lo");
    expect(added.status, added.stderr).to.equal(0);
    expect(loUp(pod)).to.equal(true);
    expect(driver("del", "legacy-lo").status).to.equal(0);
    expect(loUp(pod)).to.equal(false);
  });

  it("DEL succeeds after the pod's namespace is gone, and clears the cache", () => {
    workspace.writeConfig("10-lo.conflist", { cniVersion: "1.0.0", name: "lo-net", plugins: [{ type: "loopback" }] });
    expect(driver("add").status).to.equal(0);
    const path = pod.path;
    pod.delete();
    const deleted = workspace.run(host, "del", "lo-net", path, { CNI_PATH: suiteDir() });
    expect(deleted.status, deleted.stderr).to.equal(0);
    expect(
      existsSync(join(workspace.cacheDir, "results")) ? readdirSync(join(workspace.cacheDir, "results")) : [],
    ).to.deep.equal([]);
  });
});
