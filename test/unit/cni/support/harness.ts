// Drives the CNI skeleton (runPlugin) the way a runtime drives a process, with everything injected:
// a BufferedIo for env/stdin/stdout/stderr, a fake plugin that records what it receives, a fake
// netns probe and a fake delegate runner. No process, no root, no kernel.

import { expect } from "chai";

import { BufferedIo, type Env } from "../../../../cni/io";
import type { PluginFinder, PluginOutput, PluginRunner } from "../../../../cni/invoke";
import type {
  AddRequest,
  CheckRequest,
  DelRequest,
  GcRequest,
  Plugin,
  PluginCommands,
  StatusRequest,
} from "../../../../cni/plugin";
import { emptyResult } from "../../../../cni/result";
import { runPlugin, type NetnsProbeResult } from "../../../../cni/skel";
import { SPEC_VERSIONS, type SpecVersion } from "../../../../cni/version";

export const POD_NETNS = "/run/netns/pod";
export const CNI_PATH = "/opt/cni/bin";
export const ABOUT = "CNI fake plugin test v0";

/** What a runtime sets for ADD, CHECK and DEL; tests override single variables. */
export const attachmentEnv = (command: string): Record<string, string> => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: "ctr-1",
  CNI_NETNS: POD_NETNS,
  CNI_IFNAME: "eth0",
  CNI_PATH,
});

export const config = (cniVersion: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  cniVersion,
  name: "test-net",
  type: "fake",
  ...extra,
});

/** One call of the plugin's commands, with the request it received. */
export type PluginCall =
  | { readonly verb: "add"; readonly request: AddRequest }
  | { readonly verb: "check"; readonly request: CheckRequest }
  | { readonly verb: "del"; readonly request: DelRequest }
  | { readonly verb: "gc"; readonly request: GcRequest }
  | { readonly verb: "status"; readonly request: StatusRequest };

/** A plugin whose commands record their requests and then do what the test says. */
export class FakePlugin implements Plugin {
  readonly name = "fake";
  readonly versions: readonly SpecVersion[];
  readonly calls: PluginCall[] = [];
  loads = 0;
  private readonly behaviour: Partial<PluginCommands>;
  private readonly withoutOptional: boolean;

  /**
   * `behaviour` replaces single commands (ADD returns an empty result by default); with
   * `withoutOptional`, the plugin has no GC and no STATUS, as most reference plugins.
   */
  constructor(
    behaviour: Partial<PluginCommands> = {},
    options: { versions?: readonly SpecVersion[]; withoutOptional?: boolean } = {},
  ) {
    this.behaviour = behaviour;
    this.versions = options.versions ?? SPEC_VERSIONS;
    this.withoutOptional = options.withoutOptional ?? false;
  }

  async load(): Promise<PluginCommands> {
    this.loads++;
    const b = this.behaviour;
    const commands: PluginCommands = {
      add: async (request) => {
        this.calls.push({ verb: "add", request });
        return b.add ? b.add(request) : emptyResult();
      },
      check: async (request) => {
        this.calls.push({ verb: "check", request });
        await b.check?.(request);
      },
      del: async (request) => {
        this.calls.push({ verb: "del", request });
        await b.del?.(request);
      },
    };
    if (this.withoutOptional) return commands;
    return {
      ...commands,
      gc: async (request) => {
        this.calls.push({ verb: "gc", request });
        await b.gc?.(request);
      },
      status: async (request) => {
        this.calls.push({ verb: "status", request });
        await b.status?.(request);
      },
    };
  }

  /** The only call the plugin received; fails unless there was exactly one. */
  onlyCall(): PluginCall {
    expect(this.calls.map((c) => c.verb)).to.have.lengthOf(1);
    return this.calls[0] as PluginCall;
  }

  /** The request of the only call, which must be ADD, CHECK or DEL. */
  onlyAttachmentRequest(): AddRequest | CheckRequest | DelRequest {
    const call = this.onlyCall();
    if (call.verb === "gc" || call.verb === "status") throw new Error(`expected ADD, CHECK or DEL, got ${call.verb}`);
    return call.request;
  }
}

export interface DelegateCall {
  readonly path: string;
  readonly env: Env;
  readonly stdin: Uint8Array;
}

/** A delegate runner that records its calls and answers from `reply` (default: exit 0, no output). */
export class FakeRunner implements PluginRunner {
  readonly calls: DelegateCall[] = [];
  private readonly reply: (call: DelegateCall) => PluginOutput;

  constructor(reply: (call: DelegateCall) => PluginOutput = () => ({ exitCode: 0, stdout: "", stderr: "" })) {
    this.reply = reply;
  }

  async run(path: string, env: Env, stdin: Uint8Array): Promise<PluginOutput> {
    const call = { path, env, stdin };
    this.calls.push(call);
    return this.reply(call);
  }
}

/** Finds every plugin in the first CNI_PATH directory. */
export const findInFirstDirectory: PluginFinder = async (type, directories) => `${directories[0] ?? ""}/${type}`;

export interface Invocation {
  /** The whole environment; `attachmentEnv(...)` for the usual one. */
  readonly env: Env;
  /** stdin: a JSON-able config, or exact text or bytes. */
  readonly stdin?: unknown;
  /** What the probe answers (or throws) per path; POD_NETNS is a namespace, other paths are "missing". */
  readonly netns?: Readonly<Record<string, NetnsProbeResult | Error>>;
  readonly runner?: PluginRunner;
  readonly find?: PluginFinder;
}

export interface Outcome {
  readonly exitCode: number;
  /** Each stdout write (the skeleton writes at most one). */
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
  /** The paths the netns probe was asked about, in order. */
  readonly probed: readonly string[];
  /** stdout parsed as one JSON document, or undefined when stdout is empty. */
  readonly json: unknown;
}

export async function invoke(plugin: Plugin, invocation: Invocation): Promise<Outcome> {
  const { stdin } = invocation;
  const input =
    stdin === undefined ? "" : typeof stdin === "string" || stdin instanceof Uint8Array ? stdin : JSON.stringify(stdin);
  const io = new BufferedIo(invocation.env, input);
  const probed: string[] = [];
  const exitCode = await runPlugin(plugin, io, {
    about: ABOUT,
    probeNetns: async (path) => {
      probed.push(path);
      const answers: Readonly<Record<string, NetnsProbeResult | Error>> = { [POD_NETNS]: "netns", ...invocation.netns };
      const found = answers[path] ?? "missing";
      if (found instanceof Error) throw found;
      return found;
    },
    runner: invocation.runner ?? new FakeRunner(),
    find: invocation.find ?? findInFirstDirectory,
  });
  const text = io.stdoutText;
  return {
    exitCode,
    stdout: io.output,
    stderr: io.errors,
    probed,
    json: text === "" ? undefined : (JSON.parse(text) as unknown),
  };
}

export interface ExpectedError {
  readonly cniVersion: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** The spec's error reply and nothing else on stdout, with exit status 1. */
export function expectErrorReply(outcome: Outcome, expected: ExpectedError): void {
  expect(outcome.stdout, "one write on stdout").to.have.lengthOf(1);
  expect(outcome.json, outcome.stdout.join("\n")).to.deep.equal(expected);
  expect(outcome.stdout[0]).to.equal(JSON.stringify(expected, null, 4));
  expect(outcome.exitCode).to.equal(1);
}

/** Success: exit 0 and, unless the verb returns a result, nothing on stdout. */
export function expectSuccess(outcome: Outcome, result?: unknown): void {
  expect(outcome.exitCode, outcome.stdout.join("\n")).to.equal(0);
  if (result === undefined) {
    expect(outcome.stdout).to.deep.equal([]);
  } else {
    expect(outcome.stdout).to.have.lengthOf(1);
    expect(outcome.json).to.deep.equal(result);
  }
}

/** The message a thrown error carries (e.g. JSON.parse's, which differs between engines). */
export function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error: unknown) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected the action to throw");
}
