// The command path of the skeleton (skel.ts): ADD, CHECK, DEL, GC and STATUS. It reads and checks
// the environment and stdin, negotiates the version, validates identifiers before anything touches
// the filesystem, runs the plugin's command, converts its result to the config's version, and turns
// every failure into the spec's error JSON on stdout with a non-zero exit status.

import { CniArgs } from "./cni-args";
import { CniError, encodeErrorReply, ErrorCode, toCniError } from "./errors";
import { Delegator, splitCniPath } from "./invoke";
import { type Env, type Io, StdinTooLargeError } from "./io";
import { JsonReader, JsonShapeError, undecodableProblem } from "./json";
import { createLogSink, isLogLevel, type Logger, type LogSink } from "./log";
import type { Attachment, DelNetns, NetConf, Plugin, PluginCommands, RequestBase } from "./plugin";
import { decodeResult, encodeResult, ResultDecodeError, type Result } from "./result";
import type { NetnsProbe, SkelOptions } from "./skel";
import { validateContainerId, validateInterfaceName, validateNetworkName } from "./validate";
import { CURRENT_VERSION, DEFAULT_CONFIG_VERSION, isSpecVersion, type SpecVersion, versionAtLeast } from "./version";

/** Larger configs than this are refused; real ones, prevResult included, are a few kilobytes. */
export const STDIN_LIMIT = 1024 * 1024;

const ATTACHMENT_COMMANDS = ["ADD", "CHECK", "DEL"] as const;
type Command = (typeof ATTACHMENT_COMMANDS)[number] | "GC" | "STATUS";

/** The variables each command requires, as in the reference's skel. */
const REQUIRED_ENV: Readonly<Record<Command, readonly string[]>> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"],
  GC: ["CNI_PATH"],
  STATUS: ["CNI_PATH"],
};

/** The lowest config version that allows each command. */
const MINIMUM_VERSION: Readonly<Record<Command, SpecVersion>> = {
  ADD: "0.1.0",
  DEL: "0.1.0",
  CHECK: "0.4.0",
  GC: "1.1.0",
  STATUS: "1.1.0",
};

/** Runs `command` (CNI_COMMAND, neither empty nor VERSION) and returns the exit status. */
export async function runCommand(plugin: Plugin, io: Io, options: SkelOptions, command: string): Promise<number> {
  let replyVersion: string = CURRENT_VERSION;
  let sink: LogSink | undefined;
  let logger: Logger | undefined;
  try {
    if (!isCommand(command)) throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`);
    requireEnv(io.env, command);
    const stdin = await readStdin(io);
    const config = parseConfig(stdin, plugin);
    replyVersion = config.cniVersion;
    requireVersionFor(command, config.cniVersion);
    sink = openLog(io, config);
    logger = sink.logger.child({ plugin: plugin.name, command, containerId: io.env["CNI_CONTAINERID"] });
    const cniPath = splitCniPath(io.env["CNI_PATH"]);
    const base: RequestBase = {
      config,
      stdin,
      env: io.env,
      cniPath,
      logger,
      invoke: new Delegator({
        env: io.env,
        stdin,
        cniPath,
        configVersion: config.cniVersion,
        runner: options.runner,
        find: options.find,
        logger,
        stderr: (text) => io.stderr(text),
      }),
    };
    const commands = await plugin.load();
    const result = await dispatch(commands, command, base, io.env, options.probeNetns);
    if (result !== undefined) io.stdout(JSON.stringify(encodeResult(result, config.cniVersion), null, 4));
    return 0;
  } catch (error: unknown) {
    const cniError = toCniError(error);
    logger?.debug("command failed", { code: cniError.code, error: cniError.message, details: cniError.details });
    io.stdout(encodeErrorReply(cniError, replyVersion));
    return 1;
  } finally {
    await sink?.flush();
  }
}

/** Own keys only: "constructor" or "toString" are no verbs, whatever Object.prototype holds. */
function isCommand(value: string): value is Command {
  return Object.hasOwn(REQUIRED_ENV, value);
}

async function dispatch(
  commands: PluginCommands,
  command: Command,
  base: RequestBase,
  env: Env,
  probe: NetnsProbe,
): Promise<Result | undefined> {
  switch (command) {
    case "GC": {
      const validAttachments = parseValidAttachments(base.config.raw);
      await commands.gc?.({ ...base, validAttachments });
      return undefined;
    }
    case "STATUS":
      await commands.status?.(base);
      return undefined;
    case "ADD":
    case "CHECK":
    case "DEL":
      break;
  }

  const containerId = env["CNI_CONTAINERID"] ?? "";
  const ifName = env["CNI_IFNAME"] ?? "";
  validateContainerId(containerId);
  validateInterfaceName(ifName);
  const attachment = {
    ...base,
    containerId,
    ifName,
    cniArgs: new CniArgs(env["CNI_ARGS"] ?? ""),
    prevResult: parsePrevResult(base.config),
  };
  const netnsPath = env["CNI_NETNS"] ?? "";
  const override = ["1", "true"].includes((env["CNI_NETNS_OVERRIDE"] ?? "").toLowerCase());

  if (command === "DEL") {
    const netns = await delNetns(netnsPath, probe, override, base);
    await commands.del({ ...attachment, netns });
    return undefined;
  }
  await requireContainerNetns(netnsPath, probe, override);
  if (command === "CHECK") {
    await commands.check({ ...attachment, netns: netnsPath });
    return undefined;
  }
  return commands.add({ ...attachment, netns: netnsPath });
}

function requireEnv(env: Env, command: Command): void {
  const missing = REQUIRED_ENV[command].filter((name) => (env[name] ?? "") === "");
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(",")}] missing`);
  }
}

async function readStdin(io: Io): Promise<Uint8Array> {
  try {
    return await io.readStdin(STDIN_LIMIT);
  } catch (error: unknown) {
    if (error instanceof StdinTooLargeError) {
      throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${error.message}`, "", { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${message}`, "", { cause: error });
  }
}

/** Decodes stdin and checks what every plugin needs: an object, its name and its version. */
function parseConfig(stdin: Uint8Array, plugin: Plugin): NetConf {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(stdin));
    const problem = undecodableProblem(json);
    if (problem !== undefined) throw new Error(problem);
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshalling network config: ${message}`, "", {
      cause: error,
    });
  }
  let reader: JsonReader;
  let declaredVersion: string | undefined;
  let name: string;
  let type: string;
  try {
    reader = new JsonReader(json);
    declaredVersion = reader.string("cniVersion");
    name = reader.string("name") ?? "";
    type = reader.string("type") ?? "";
  } catch (error: unknown) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshalling network config: ${message}`, "", {
      cause: error,
    });
  }
  validateNetworkName(name);

  const cniVersion = declaredVersion === undefined || declaredVersion === "" ? DEFAULT_CONFIG_VERSION : declaredVersion;
  if (!isSpecVersion(cniVersion) || !plugin.versions.includes(cniVersion)) {
    const supported = plugin.versions.map((v) => JSON.stringify(v)).join(" ");
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      "incompatible CNI versions",
      `config is ${JSON.stringify(cniVersion)}, plugin supports [${supported}]`,
    );
  }
  return { cniVersion, name, type, raw: reader.object };
}

function requireVersionFor(command: Command, cniVersion: SpecVersion): void {
  if (!versionAtLeast(cniVersion, MINIMUM_VERSION[command])) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${MINIMUM_VERSION[command]} or later, config is ${cniVersion}`,
    );
  }
}

function parsePrevResult(config: NetConf): Result | undefined {
  const raw = config.raw["prevResult"];
  if (raw === undefined || raw === null) return undefined;
  try {
    return decodeResult(raw, config.cniVersion).result;
  } catch (error: unknown) {
    if (error instanceof ResultDecodeError) {
      throw new CniError(ErrorCode.DecodingFailure, "could not parse prevResult", error.message, { cause: error });
    }
    throw error;
  }
}

function parseValidAttachments(raw: NetConf["raw"]): readonly Attachment[] | undefined {
  // libcni sends both keys; the older spec text named it cni.dev/attachments.
  const key = raw["cni.dev/valid-attachments"] !== undefined ? "cni.dev/valid-attachments" : "cni.dev/attachments";
  try {
    return new JsonReader(raw).array(key, (value, path) => {
      const entry = new JsonReader(value, path);
      return { containerId: entry.requireString("containerID"), ifName: entry.requireString("ifname") };
    });
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid ${key}`, error.message, { cause: error });
    }
    throw error;
  }
}

/** ADD and CHECK need the container's namespace, and never the plugin's own. */
async function requireContainerNetns(path: string, probe: NetnsProbe, override: boolean): Promise<void> {
  if (!path.startsWith("/")) {
    throw new CniError(ErrorCode.InvalidEnvironment, `CNI_NETNS must be an absolute path`, path);
  }
  switch (await probe(path)) {
    case "netns":
      return;
    case "own-netns":
      if (override) return;
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        "CNI_NETNS is the plugin's own network namespace",
        `${path}; set CNI_NETNS_OVERRIDE=1 if this is intended`,
      );
    case "not-netns":
      throw new CniError(ErrorCode.InvalidEnvironment, "CNI_NETNS is not a network namespace", path);
    case "missing":
      throw new CniError(ErrorCode.UnknownContainer, "CNI_NETNS does not exist", path);
  }
}

/**
 * DEL must succeed whatever became of the namespace. A path that is no longer a namespace, or that
 * now names the plugin's own (a reused /proc/<pid>/ns/net), is treated as gone: the plugin cleans
 * up everything outside it and never touches the host's interfaces.
 */
async function delNetns(path: string, probe: NetnsProbe, override: boolean, base: RequestBase): Promise<DelNetns> {
  if (path === "") return { state: "unspecified" };
  const found = path.startsWith("/") ? await probe(path) : "not-netns";
  if (found === "netns" || (found === "own-netns" && override)) return { state: "present", path };
  if (found === "own-netns") {
    base.logger.warn("CNI_NETNS is the plugin's own namespace; cleaning up as if it were gone", { netns: path });
  }
  return { state: "gone", path };
}

/** Logging is configured by TSCNI_LOG_LEVEL/TSCNI_LOG_FILE, else the config's logLevel/logFile. */
function openLog(io: Io, config: NetConf): LogSink {
  let level: string;
  let file: string | undefined;
  try {
    const reader = new JsonReader(config.raw);
    level = io.env["TSCNI_LOG_LEVEL"] ?? reader.string("logLevel") ?? "warn";
    file = io.env["TSCNI_LOG_FILE"] ?? reader.string("logFile");
  } catch (error: unknown) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, error instanceof Error ? error.message : String(error));
  }
  if (!isLogLevel(level)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid log level ${JSON.stringify(level)}`,
      "logLevel and TSCNI_LOG_LEVEL take one of error, warn, info, debug",
    );
  }
  return createLogSink({
    level,
    stderr: (line) => io.stderr(line),
    ...(file !== undefined && file !== "" ? { file } : {}),
  });
}
