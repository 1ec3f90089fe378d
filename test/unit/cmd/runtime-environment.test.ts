// The start-up step that keeps Bun's own variables out of effect: which variables count, and the
// re-execution it asks for (the compiled binary's behaviour is tested in
// test/integration/binary/runtime-environment.test.ts).

import { expect } from "chai";

import { dropRuntimeControls, type Exec as ExecFunction, runtimeControlVariables } from "../../../cmd/runtime-environment";

interface Exec {
  file: string;
  args: readonly string[];
  env: Record<string, string>;
}

function fakeProcess(env: Record<string, string>, execve?: (call: Exec) => void) {
  const calls: Exec[] = [];
  const target = {
    env: { ...env } as Record<string, string | undefined>,
    argv0: "bridge",
    argv: ["bun", "/$bunfs/root/tscni", "--help"],
    execPath: "/opt/cni/bin/tscni",
  };
  const exec: ExecFunction = async (file, args, childEnv) => {
    calls.push({ file, args, env: { ...childEnv } });
    execve?.({ file, args, env: { ...childEnv } });
    throw new Error("execve returned");
  };
  return { target, calls, exec };
}

describe("Bun's variables at start-up", () => {
  it("counts every BUN_* variable, and nothing else", () => {
    expect(
      runtimeControlVariables({
        BUN_OPTIONS: "--cpu-prof",
        BUN_JSC_useJIT: "0",
        NODE_OPTIONS: "x",
        CNI_COMMAND: "ADD",
      }),
    ).to.deep.equal(["BUN_OPTIONS", "BUN_JSC_useJIT"]);
  });

  it("does nothing when none is set", async () => {
    const { target, calls, exec } = fakeProcess({ CNI_COMMAND: "ADD", NODE_OPTIONS: "--require x" });
    await dropRuntimeControls(target, exec, () => expect.fail("no warning expected"));
    expect(calls).to.deep.equal([]);
    expect(target.env).to.deep.equal({ CNI_COMMAND: "ADD", NODE_OPTIONS: "--require x" });
  });

  it("re-executes the binary with the same argv[0] and arguments, without the variables", async () => {
    const { target, calls, exec } = fakeProcess({ CNI_COMMAND: "ADD", BUN_OPTIONS: "--preload x", BUN_INSPECT: "1" });
    await dropRuntimeControls(target, exec, () => {});
    expect(calls).to.deep.equal([
      { file: "/opt/cni/bin/tscni", args: ["bridge", "--help"], env: { CNI_COMMAND: "ADD" } },
    ]);
  });

  it("when execve fails: warns, and removes the variables for the children it starts", async () => {
    const warnings: string[] = [];
    const { target, exec } = fakeProcess({ CNI_COMMAND: "DEL", BUN_OPTIONS: "--smol" });
    await dropRuntimeControls(target, exec, (line) => warnings.push(line));
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain("cannot restart without BUN_OPTIONS: execve returned");
    expect(target.env).to.deep.equal({ CNI_COMMAND: "DEL" });
  });
});
