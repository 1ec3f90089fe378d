// What a path claimed to be a network namespace really is, decided in TypeScript from stat(2):
// every namespace inode lives on the kernel's nsfs, so a namespace file shares its device with
// /proc/self/ns/net, and the plugin's own namespace is that very inode. (Joining one of another
// type, such as a mount namespace file, still fails later in setns with EINVAL.)

import { statSync } from "node:fs";

export type NetnsKind = "netns" | "own-netns" | "not-netns" | "missing";

// Synchronous: node:fs is loaded by then anyway, node:fs/promises would cost another millisecond.
export async function probeNetns(path: string): Promise<NetnsKind> {
  let target;
  try {
    target = statSync(path);
  } catch (error: unknown) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    throw error;
  }
  // The thread's own namespace, which is the process's: no JavaScript runs on another thread here.
  const own = statSync("/proc/self/ns/net");
  if (target.dev !== own.dev) return "not-netns";
  return target.ino === own.ino ? "own-netns" : "netns";
}
