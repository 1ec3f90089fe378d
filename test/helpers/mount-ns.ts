// Running a command in a private mount namespace (unshare -m) whose temporary directories are fresh
// tmpfs mounts, optionally noexec, with files planted in them first. Nothing is mounted in, or
// written to, the host's own /tmp, /var/tmp or /dev/shm.

import { run, type RunResult } from "./run";

export interface PrivateTmpOptions {
  /** Mount the fresh /tmp, /var/tmp and /dev/shm with noexec, as hardened hosts do. */
  readonly noexec?: boolean;
  /** Files copied into place (inside the private mounts) before the command runs. */
  readonly plant?: readonly { readonly source: string; readonly path: string }[];
  /** After the command, print the listing of /tmp (to learn what it created there). */
  readonly listTmp?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly cwd?: string;
}

// A fixed script; paths and the command arrive as positional arguments, never as script text.
const SCRIPT = `
set -e
options="$1"; plants="$2"; list="$3"; shift 3
for dir in /tmp /var/tmp /dev/shm; do mount -t tmpfs -o "mode=1777$options" tmpfs "$dir"; done
while [ "$plants" -gt 0 ]; do cp "$1" "$2"; shift 2; plants=$((plants - 1)); done
set +e
"$@"
status=$?
if [ "$list" = yes ]; then echo "--- /tmp:" >&2; ls -a /tmp >&2; fi
exit $status
`;

export function runWithPrivateTmp(
  command: string,
  args: readonly string[],
  options: PrivateTmpOptions = {},
): RunResult {
  const plants = options.plant ?? [];
  return run(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      SCRIPT,
      "sh",
      options.noexec === true ? ",noexec" : "",
      String(plants.length),
      options.listTmp === true ? "yes" : "no",
      ...plants.flatMap((p) => [p.source, p.path]),
      command,
      ...args,
    ],
    {
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...options.env },
      ...(options.input !== undefined ? { input: options.input } : {}),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    },
  );
}
