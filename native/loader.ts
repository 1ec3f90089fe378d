// Finds and loads the native addon, once per process.
//
// Two sources exist. Under Node (development and unit tests) the addon is the node-gyp build next to
// this file. In the shipped binary it is embedded, and cmd/tscni.ts installs a loader that maps it
// from memory (native/embedded.ts). Either way, a failure reports every attempt that was made.

import { asNativeBinding, type NativeBinding } from "./binding";

export interface LoadAttempt {
  readonly method: string;
  readonly error: unknown;
}

export class NativeLoadError extends Error {
  readonly attempts: readonly LoadAttempt[];

  constructor(attempts: readonly LoadAttempt[]) {
    const tried = attempts.map(
      (a) => `  - ${a.method}: ${a.error instanceof Error ? a.error.message : String(a.error)}`,
    );
    super(`cannot load the native netlink addon; tried:\n${tried.join("\n")}`, { cause: attempts.at(-1)?.error });
    this.name = "NativeLoadError";
    this.attempts = attempts;
  }
}

export type NativeLoader = () => Promise<NativeBinding>;

/** Where a checkout's node-gyp build puts the addon. (No node:url: builtins cost start-up time.) */
export const DEVELOPMENT_ADDON_PATH = decodeURIComponent(
  new URL("./build/Release/tscni_native.node", import.meta.url).pathname,
);

/** The default loader: the node-gyp build of a checkout. */
export const loadDevelopmentAddon: NativeLoader = async () => {
  try {
    return dlopenAddon(DEVELOPMENT_ADDON_PATH, DEVELOPMENT_ADDON_PATH);
  } catch (error: unknown) {
    throw new NativeLoadError([{ method: `dlopen ${DEVELOPMENT_ADDON_PATH} (run "make native")`, error }]);
  }
};

let loader: NativeLoader = loadDevelopmentAddon;
let loading: Promise<NativeBinding> | undefined;

/** Replaces how the addon is found (the compiled binary embeds it); must run before first use. */
export function setNativeLoader(next: NativeLoader): void {
  loader = next;
  loading = undefined;
}

/** The addon, loaded on first use: verbs that need no kernel access never pay for it. */
export function loadNative(): Promise<NativeBinding> {
  loading ??= loader();
  return loading;
}

/** dlopen()s an addon file and checks its exports; `origin` names it in errors. */
export function dlopenAddon(path: string, origin: string): NativeBinding {
  const module = { exports: {} as unknown };
  process.dlopen(module, path);
  return asNativeBinding(module.exports, origin);
}
