// No shell ever runs with input: the product code starts processes in one place only (cni/spawn.ts,
// for delegates and the netfilter tools), with an argument array, and nothing anywhere asks for a
// shell. This reads the sources, so that a new call site has to be added here on purpose.

import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

import { REPO_ROOT } from "../../helpers/suite";

const PRODUCT_DIRS = ["cmd", "cni", "native", "plugins", "ipam", "firewall", "agent", "tools"];
const PROCESS_STARTERS = ["cni/spawn.ts"];
/** The binary replacing itself without Bun's variables: the decision, its caller, the addon's execve. */
const SELF_REEXECUTION = ["cmd/runtime-environment.ts", "cmd/exec-clean.ts", "native/binding.ts", "native/src/addon.cc"];

function sources(): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== "node_modules" && entry.name !== "build") walk(path);
      else if (entry.isFile() && /\.(ts|cc)$/.test(entry.name)) {
        found.push({ path: relative(REPO_ROOT, path), text: readFileSync(path, "utf8") });
      }
    }
  };
  for (const dir of PRODUCT_DIRS) walk(join(REPO_ROOT, dir));
  return found;
}

describe("security: no shell", () => {
  const files = sources();

  it("reads the product sources", () => {
    expect(files.map((f) => f.path)).to.include.members([...PROCESS_STARTERS, "native/src/addon.cc"]);
  });

  it("starts processes only in cni/spawn.ts (and re-executes itself, see cmd/runtime-environment.ts)", () => {
    const starters = files.filter(({ text }) => /node:child_process|Bun\.spawn|\bbun\.spawn\(|\bexecve\b/.test(text));
    expect(starters.map((f) => f.path).sort()).to.deep.equal([...PROCESS_STARTERS, ...SELF_REEXECUTION].sort());
  });

  it("never asks for a shell, nor runs one by name", () => {
    const patterns: readonly [string, RegExp][] = [
      ["the shell option", /\bshell\s*:/],
      [
        "exec/execSync/execFileSync",
        /\b(execSync|execFileSync|spawnSync)\s*\(|child_process"\)?\.exec\(|\{\s*exec\s*[,}]/,
      ],
      ["Bun's shell", /Bun\.\$|\$`/],
      ["a shell by name", /["'`](\/bin\/)?(ba|da|z)?sh["'`]|["'`]-c["'`]/],
      ["system(3) or popen(3)", /\b(system|popen)\s*\(/],
    ];
    const hits = files.flatMap(({ path, text }) =>
      patterns.filter(([, pattern]) => pattern.test(text)).map(([what]) => `${path}: ${what}`),
    );
    expect(hits).to.deep.equal([]);
  });

  it("passes arguments as an array where it does start processes", () => {
    for (const path of PROCESS_STARTERS) {
      const text = files.find((f) => f.path === path)?.text ?? "";
      // Each spawn call: the command array itself, or a file and then an argument array.
      const calls = [...text.matchAll(/\bspawn\(\s*([^,)]*)(?:,\s*([^,)]*))?/g)].filter(
        ([, first]) => !first?.includes(":"),
      );
      expect(calls.length, path).to.be.above(0);
      for (const [call, first = "", second = ""] of calls) {
        expect(first.startsWith("[") || second.startsWith("[") || second === "args", `${path}: ${call}`).to.equal(true);
      }
    }
  });
});
