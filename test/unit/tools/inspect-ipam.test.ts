// `tscni doctor` reads host-local's reservations and libcni's result cache. The names it builds
// cache paths from come out of files anyone with access to the data dir could have written: a
// reservation naming a path instead of a container must not make it read outside the cache.

import { expect } from "chai";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { inspectIpam } from "../../../tools/doctor/inspect-ipam";
import { scratchDir } from "../../helpers/suite";

describe("doctor: reservations and the result cache", () => {
  let root: string;
  let dataDir: string;
  let cacheDir: string;

  beforeEach(() => {
    root = scratchDir("doctor-ipam");
    dataDir = join(root, "networks");
    cacheDir = join(root, "cache");
    mkdirSync(join(dataDir, "net1"), { recursive: true });
    mkdirSync(join(cacheDir, "results"), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const reserve = (address: string, containerId: string, ifName: string): void =>
    writeFileSync(join(dataDir, "net1", address), `${containerId}\r\n${ifName}`);
  const record = (path: string, netns: string): void => writeFileSync(path, JSON.stringify({ netns }));

  it("finds the namespace of a reservation in the cache entry of its attachment", async () => {
    reserve("10.1.0.5", "ctr-1", "eth0");
    record(join(cacheDir, "results", "net1-ctr-1-eth0"), "/proc/self/ns/net");
    const [network] = await inspectIpam([], [dataDir], cacheDir);
    expect(network?.reservations).to.deep.equal([
      { address: "10.1.0.5", containerId: "ctr-1", ifName: "eth0", attachment: "live", netns: "/proc/self/ns/net" },
    ]);
  });

  for (const [title, containerId, ifName] of [
    ["a container ID", "x/../../../planted", "eth0"],
    ["an interface name", "ctr-1", "x/../../../planted"],
  ] as const) {
    it(`never reads outside the cache for ${title} holding a path`, async () => {
      reserve("10.1.0.6", containerId, ifName);
      // Where the unchecked names would lead: next to the cache directory.
      record(join(root, "planted-eth0"), "/proc/self/ns/net");
      record(join(root, "planted"), "/proc/self/ns/net");
      const [network] = await inspectIpam([], [dataDir], cacheDir);
      expect(network?.reservations).to.deep.equal([
        { address: "10.1.0.6", containerId, ifName, attachment: "unrecorded", netns: null },
      ]);
    });
  }
});
