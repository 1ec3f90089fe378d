// Delegation: running another plugin found in CNI_PATH (IPAM, or flannel's bridge) with the same
// stdin bytes and environment, CNI_COMMAND replaced, and reading its reply exactly as libcni does.
//
// How the delegate runs is a PluginRunner. The process runner execs it; the multi-call binary adds
// a runner that, when the file found is this very binary, runs it in the same process through the
// same dispatcher (cmd/in-process.ts). Both hand back exit status and output, parsed here, so the
// two paths cannot differ in how results and errors are read.

import { CniError, ErrorCode } from "./errors";
import type { Env } from "./io";
import type { Logger } from "./log";
import { decodeResult, type Result } from "./result";
import type { SpecVersion } from "./version";

export interface PluginOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface PluginRunner {
  run(path: string, env: Env, stdin: Uint8Array): Promise<PluginOutput>;
}

export type DelegatedCommand = "ADD" | "CHECK" | "DEL" | "GC" | "STATUS";

export interface Invoker {
  /** Runs ADD on the delegate and returns its result (converted to the current shape). */
  add(type: string, stdin?: Uint8Array): Promise<Result>;
  check(type: string, stdin?: Uint8Array): Promise<void>;
  del(type: string, stdin?: Uint8Array): Promise<void>;
  gc(type: string, stdin?: Uint8Array): Promise<void>;
  status(type: string, stdin?: Uint8Array): Promise<void>;
}

/**
 * Finds `type` in the CNI_PATH directories: the first regular file wins, as in libcni. Throws
 * InvalidPluginNameError or PluginNotFoundError.
 */
export type PluginFinder = (type: string, directories: readonly string[]) => Promise<string>;

/** A delegate type that cannot name a plugin file (empty, or with a "/"): the config is wrong (code 7). */
export class InvalidPluginNameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidPluginNameError";
  }
}

/** No CNI_PATH directory holds the delegate: CNI_PATH decides where plugins are (code 4). */
export class PluginNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PluginNotFoundError";
  }
}

export interface DelegatorOptions {
  readonly env: Env;
  /** The calling plugin's stdin, the default input of every delegate. */
  readonly stdin: Uint8Array;
  readonly cniPath: readonly string[];
  /** The version results are read in when the delegate does not state its own. */
  readonly configVersion: SpecVersion;
  readonly runner: PluginRunner;
  readonly find: PluginFinder;
  readonly logger: Logger;
  /** Receives a successful delegate's stderr, as libcni copies it to the caller's. */
  readonly stderr: (text: string) => void;
}

export class Delegator implements Invoker {
  private readonly options: DelegatorOptions;

  constructor(options: DelegatorOptions) {
    this.options = options;
  }

  async add(type: string, stdin?: Uint8Array): Promise<Result> {
    const stdout = await this.invoke("ADD", type, stdin);
    let json: unknown;
    try {
      json = JSON.parse(stdout);
    } catch (error: unknown) {
      throw new CniError(ErrorCode.DecodingFailure, `plugin ${type} returned a result that is not JSON`, stdout, {
        cause: error,
      });
    }
    try {
      return decodeResult(json, this.options.configVersion).result;
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      throw new CniError(ErrorCode.DecodingFailure, `plugin ${type} returned an invalid result`, message, {
        cause: error,
      });
    }
  }

  async check(type: string, stdin?: Uint8Array): Promise<void> {
    await this.invoke("CHECK", type, stdin);
  }

  async del(type: string, stdin?: Uint8Array): Promise<void> {
    await this.invoke("DEL", type, stdin);
  }

  async gc(type: string, stdin?: Uint8Array): Promise<void> {
    await this.invoke("GC", type, stdin);
  }

  async status(type: string, stdin?: Uint8Array): Promise<void> {
    await this.invoke("STATUS", type, stdin);
  }

  private async invoke(command: DelegatedCommand, type: string, stdin: Uint8Array | undefined): Promise<string> {
    const { env, cniPath, runner, find, logger } = this.options;
    let path: string;
    try {
      path = await find(type, cniPath);
    } catch (error: unknown) {
      // The reference answers 999 for both; each has a spec code that fits.
      const code =
        error instanceof InvalidPluginNameError
          ? ErrorCode.InvalidNetworkConfig
          : error instanceof PluginNotFoundError
            ? ErrorCode.InvalidEnvironment
            : ErrorCode.Internal;
      throw new CniError(code, error instanceof Error ? error.message : String(error), "", { cause: error });
    }
    logger.debug("delegating", { delegate: path, command });
    const output = await runner.run(path, { ...env, CNI_COMMAND: command }, stdin ?? this.options.stdin);
    if (output.exitCode !== 0) throw delegateError(output);
    if (output.stderr.trim() !== "") this.options.stderr(output.stderr.trimEnd());
    return output.stdout;
  }
}

/** The delegate's failure as libcni reads it: its error JSON, else its stderr, else nothing. */
export function delegateError(output: PluginOutput): CniError {
  const stdout = output.stdout.trim();
  if (stdout === "") {
    const stderr = output.stderr.trim();
    return stderr === ""
      ? new CniError(ErrorCode.Internal, `netplugin failed with no error message: exit status ${output.exitCode}`)
      : new CniError(ErrorCode.Internal, `netplugin failed: ${JSON.stringify(stderr)}`);
  }
  try {
    const reply: unknown = JSON.parse(stdout);
    if (typeof reply === "object" && reply !== null) {
      const { code, msg, details } = reply as { code?: unknown; msg?: unknown; details?: unknown };
      if (typeof code === "number" && typeof msg === "string") {
        return new CniError(code, msg, typeof details === "string" ? details : "");
      }
    }
  } catch {
    // Reported below, with the text that could not be parsed.
  }
  return new CniError(
    ErrorCode.Internal,
    `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}`,
  );
}

/** Splits CNI_PATH on ":" and drops empty entries. */
export function splitCniPath(value: string | undefined): string[] {
  return (value ?? "").split(":").filter((dir) => dir !== "");
}
