// The execve behind cmd/runtime-environment.ts, safe against a signal the engine may have in flight.
//
// JavaScriptCore suspends threads with SIGPWR: under --cpu-prof its sampling profiler does so every
// millisecond. A SIGPWR still pending at execve is delivered to the new image before that image has
// installed a handler, and SIGPWR's default action ends the process: with process.execve, a plugin
// started with BUN_OPTIONS=--cpu-prof died that way in about one run of three. Ignoring SIGPWR
// drops a pending instance, and the ignored setting survives execve until the new engine installs
// its handler. Ignoring it must be the addon's last act before the exec, with no JavaScript run in
// between (see execveIgnoring in native/src/addon.cc).

import { checkExecArguments } from "../native/binding";
import { loadNative } from "../native/loader";
import type { Exec } from "./runtime-environment";

/** The signal JavaScriptCore suspends threads with on Linux (numbered 30 on x86-64 and arm64). */
const ENGINE_SUSPEND_SIGNAL = 30;

export const execWithoutEngineSignal: Exec = async (file, args, env) => {
  const envp = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  checkExecArguments(file, args, envp);
  const native = await loadNative();
  native.execveIgnoring(ENGINE_SUSPEND_SIGNAL, file, args, envp);
  throw new Error(`execve ${file} returned`);
};
