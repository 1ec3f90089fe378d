// Killing a plugin at a chosen moment, as a runtime's timeout does: SIGKILL to the plugin's process
// only. Its children (iptables-restore, nft) are not killed: they run on as orphans and may still
// commit after the plugin died, which is what happens on a real node. The moment is either a delay
// from the start or the first sign of an event (a file appearing, a tool being run). At that moment
// the plugin is stopped (SIGSTOP) so that the children it has can be listed before it dies; they are
// then waited for, so that a check made afterwards sees everything they did.

import { spawn } from "node:child_process";
import { type FSWatcher, readdirSync, readFileSync, watch } from "node:fs";

export type Moment =
  | { readonly kind: "delay"; readonly ms: number }
  | { readonly kind: "event"; readonly label: string; readonly armed: (fire: () => void, pid: number) => Disarm };

export type Disarm = () => void;

export interface KilledRun {
  /** "killed": SIGKILL reached the plugin while it ran; "completed": it had exited first. */
  readonly outcome: "killed" | "completed";
  /** When the kill was sent (or the plugin exited), in ms from the spawn. */
  readonly atMs: number;
  readonly exitCode: number | null;
  readonly stdout: string;
  /** Children the plugin left running when it was killed (they were waited for). */
  readonly orphans: number;
}

export interface PluginProcess {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly stdin: string;
}

/** Runs the process and kills it at `moment` unless it exits first. */
export async function runAndKill(proc: PluginProcess, moment: Moment): Promise<KilledRun> {
  const child = spawn(proc.command, [...proc.args], { env: { ...proc.env }, stdio: ["pipe", "pipe", "pipe"] });
  const started = performance.now();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot run ${proc.command}`);
  const stdout: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.resume();
  child.stdin.on("error", () => {});
  child.stdin.end(proc.stdin);

  let exited = false;
  const exit = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      exited = true;
      resolve(code);
    }),
  );
  const closed = new Promise((resolve) => child.on("close", resolve));
  let killedAt: number | undefined;
  let orphans: ProcessIdentity[] = [];
  const fire = (): void => {
    if (exited || killedAt !== undefined) return;
    // Not reaped yet while this runs (the exit handler needs the event loop): the PID is still ours.
    process.kill(pid, "SIGSTOP");
    orphans = descendants(pid).flatMap((child) => {
      const start = startTime(child);
      return start === undefined ? [] : [{ pid: child, start }];
    });
    process.kill(pid, "SIGKILL");
    killedAt = performance.now() - started;
  };

  let disarm: Disarm = () => {};
  if (moment.kind === "delay") {
    const timer = setTimeout(fire, moment.ms);
    disarm = () => clearTimeout(timer);
  } else {
    disarm = moment.armed(fire, pid);
  }
  const exitCode = await exit;
  const endedAt = performance.now() - started;
  disarm();
  await closed;
  const lingering = await waitForExit(orphans);
  return {
    outcome: killedAt !== undefined ? "killed" : "completed",
    atMs: killedAt ?? endedAt,
    exitCode,
    stdout: Buffer.concat(stdout).toString("utf8"),
    orphans: lingering,
  };
}

/** A process as it was seen: its start time tells it from a later process given the same PID. */
interface ProcessIdentity {
  readonly pid: number;
  readonly start: string;
}

/** Every process below `pid`. */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of childrenOf(next)) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((task) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, "utf8")
        .split(" ")
        .filter((word) => word.trim() !== "")
        .map(Number);
    } catch {
      return [];
    }
  });
}

/** The start time of a running process (field 22 of stat); undefined once it is gone or a zombie. */
function startTime(pid: number): string | undefined {
  try {
    // Fields are counted after the command name, which may hold spaces and ends with ")".
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").at(-1)?.split(" ") ?? [];
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** Waits until none of `processes` runs any more; returns how many there were. */
async function waitForExit(processes: readonly ProcessIdentity[], timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (processes.some((p) => startTime(p.pid) === p.start)) {
    if (performance.now() > deadline) {
      const pids = processes.map((p) => p.pid).join(" ");
      throw new Error(`orphans of a killed plugin still run after ${timeoutMs} ms: ${pids}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return processes.length;
}

/** The moment a file appears in `directory` whose name passes `matches` (inotify). */
export function onFileCreated(label: string, directory: string, matches: (name: string) => boolean): Moment {
  return {
    kind: "event",
    label,
    armed: (fire) => {
      let watcher: FSWatcher | undefined = watch(directory, (_event, name) => {
        if (name !== null && matches(name)) fire();
      });
      return () => {
        watcher?.close();
        watcher = undefined;
      };
    },
  };
}

/** The moment the plugin has a child process whose command name passes `matches` (polled each millisecond). */
export function onChildProcess(label: string, matches: (comm: string) => boolean): Moment {
  return {
    kind: "event",
    label,
    armed: (fire, pid) => {
      let active = true;
      const poll = (): void => {
        if (!active) return;
        const running = childrenOf(pid).some((child) => {
          try {
            return matches(readFileSync(`/proc/${child}/comm`, "utf8").trim());
          } catch {
            return false;
          }
        });
        if (running) fire();
        else setTimeout(poll, 1);
      };
      poll();
      return () => {
        active = false;
      };
    },
  };
}
