// Path joining without node:path agrees with node:path on every shape the plugins produce.

import { expect } from "chai";
import { dirname, join } from "node:path";

import { directoryOf, joinPath } from "../../../cni/path";

describe("paths without node:path", () => {
  it("joins a directory and a name as node:path does", () => {
    for (const directory of ["/opt/cni/bin", "/opt/cni/bin/", "/opt/cni/bin//", "/", "relative", "relative/"]) {
      expect(joinPath(directory, "bridge"), directory).to.equal(join(directory, "bridge"));
    }
  });

  it("keeps a bare name when the directory is empty", () => {
    expect(joinPath("", "bridge")).to.equal(join("", "bridge"));
  });

  it("finds a file's directory as node:path does", () => {
    for (const path of ["/opt/cni/bin/tscni", "/tscni", "tscni", "bin/tscni", "/opt/cni/bin/"]) {
      expect(directoryOf(path), path).to.equal(dirname(path));
    }
  });
});
