// Network configuration files as a runtime finds them in /etc/cni/net.d: libcni reads `*.conf`,
// `*.json` (one plugin) and `*.conflist` (a chain), in lexical order, and uses the first one as
// the default network. Shared by the installer (validating what it installs) and the doctor
// (which plugins the node needs, where their state lives).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { CniError } from "../cni/errors";
import { type JsonObject, JsonReader, JsonShapeError } from "../cni/json";
import { validateNetworkName } from "../cni/validate";

export const NETWORK_CONFIG_EXTENSIONS = [".conf", ".conflist", ".json"] as const;

export interface NetworkConfigFile {
  readonly path: string;
  readonly name: string;
  readonly cniVersion: string | undefined;
  /** The plugin objects in chain order (one for a single-plugin file). */
  readonly plugins: readonly JsonObject[];
}

/** A file that is not a usable network configuration; the message names the key or the JSON error. */
export class NetworkConfigFileError extends Error {
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.name = "NetworkConfigFileError";
    this.path = path;
  }
}

export const isConflistFile = (path: string): boolean => path.endsWith(".conflist");

/**
 * Parses a file's text. A `.conflist` must hold `plugins`; any other file is one plugin, as libcni
 * reads it (a chain in a `.conf` file would be read as a plugin without a type).
 */
export function parseNetworkConfigFile(path: string, text: string): NetworkConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error: unknown) {
    throw new NetworkConfigFileError(path, `not JSON (${(error as Error).message})`, { cause: error });
  }
  try {
    const reader = new JsonReader(json);
    const name = reader.requireString("name");
    validateNetworkName(name);
    const plugins = isConflistFile(path)
      ? (reader.array("plugins", (value, at) => new JsonReader(value, at).object) ?? [])
      : [reader.object];
    if (plugins.length === 0) throw new NetworkConfigFileError(path, "plugins: the list is empty");
    plugins.forEach((plugin, index) => {
      const type = new JsonReader(plugin, isConflistFile(path) ? `plugins[${index}]` : "").requireString("type");
      if (type === "" || type.includes("/")) throw new NetworkConfigFileError(path, `invalid plugin type "${type}"`);
    });
    return { path, name, cniVersion: reader.string("cniVersion"), plugins };
  } catch (error: unknown) {
    if (error instanceof JsonShapeError) throw new NetworkConfigFileError(path, error.message, { cause: error });
    if (error instanceof CniError) throw new NetworkConfigFileError(path, `${error.message} ${error.details}`.trim());
    throw error;
  }
}

export interface ConfDirListing {
  /** The readable network configurations, in the order libcni considers them (the first is the default). */
  readonly files: readonly NetworkConfigFile[];
  readonly errors: readonly NetworkConfigFileError[];
}

/** Every network configuration file of a directory; a missing directory holds none. */
export function readConfDir(directory: string): ConfDirListing {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { files: [], errors: [] };
    throw error;
  }
  const files: NetworkConfigFile[] = [];
  const errors: NetworkConfigFileError[] = [];
  for (const name of names.filter((n) => NETWORK_CONFIG_EXTENSIONS.some((ext) => n.endsWith(ext))).sort()) {
    const path = join(directory, name);
    try {
      files.push(parseNetworkConfigFile(path, readFileSync(path, "utf8")));
    } catch (error: unknown) {
      if (error instanceof NetworkConfigFileError) errors.push(error);
      else errors.push(new NetworkConfigFileError(path, (error as Error).message, { cause: error }));
    }
  }
  return { files, errors };
}
