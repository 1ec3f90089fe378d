// Bun's own environment variables, neutralised. Bun acts on several of them before any of our code
// runs, also in a compiled binary: BUN_OPTIONS adds command-line flags (--preload runs code,
// --cpu-prof and --heap-prof write files into the working directory), BUN_INSPECT opens a debugger
// that executes whatever a client sends, BUN_JSC_* sets engine options. A plugin runs as root with
// the environment of its runtime (containerd, CRI-O and podman hand theirs down), where such a
// variable may be left over from someone's shell. So the binary never runs with one: when any
// BUN_* variable is set, it replaces itself (execve: same PID, same stdin, same argv[0], so the
// plugin name is kept) with a copy of itself started without them. What Bun did before this check
// ran (a preload) cannot be undone; what it would keep doing (a debugger listening, a profile
// written at exit, flags in effect) ends here. Delegates and tools started afterwards inherit the
// cleaned environment. Costs nothing when no such variable is set, one exec (~10 ms) otherwise.
// The exec itself is injected: the binary's (cmd/exec-clean.ts) must first disarm a signal the
// engine may have in flight, which leaves one line on stderr from the new image's engine
// ("Overriding existing handler for signal 30"): harmless, and only ever seen in this situation.

/** Variables Bun reads for itself: every name with this prefix. */
export const RUNTIME_CONTROL_PREFIX = "BUN_";

export function runtimeControlVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.keys(env).filter((name) => name.startsWith(RUNTIME_CONTROL_PREFIX));
}

interface RuntimeProcess {
  readonly env: Record<string, string | undefined>;
  readonly argv0: string;
  readonly argv: readonly string[];
  readonly execPath: string;
}

/** Replaces the process image; settles (rejects) only when that failed. */
export type Exec = (file: string, args: readonly string[], env: Readonly<Record<string, string>>) => Promise<never>;

/**
 * Re-executes this binary without Bun's variables if any is set; returns only when none is, or
 * when execve failed (then they are removed from this process's environment, for its children).
 */
export async function dropRuntimeControls(
  target: RuntimeProcess,
  exec: Exec,
  warn: (line: string) => void,
): Promise<void> {
  const names = runtimeControlVariables(target.env);
  if (names.length === 0) return;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.env)) {
    if (value !== undefined && !name.startsWith(RUNTIME_CONTROL_PREFIX)) env[name] = value;
  }
  try {
    // argv[0] stays what the runtime invoked (the plugin name); the rest are our arguments.
    await exec(target.execPath, [target.argv0, ...target.argv.slice(2)], env);
  } catch (error: unknown) {
    warn(
      `tscni: cannot restart without ${names.join(", ")}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  for (const name of names) delete target.env[name];
}
