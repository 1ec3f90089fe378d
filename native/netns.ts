// What a path claimed to be a network namespace really is. Every namespace inode lives on the
// kernel's nsfs, so a namespace file shares its device with /proc/self/ns/net, and the plugin's own
// namespace is that very inode. Whether another nsfs file is a *network* namespace (and not, say,
// /proc/<pid>/ns/ipc) only entering it tells: the probe opens a netlink socket there, as every
// plugin that works in the namespace will.

import { statSync } from "node:fs";

import { hasErrorCode } from "./binding";
import { loadNative } from "./loader";
import { NETLINK_ROUTE } from "./netlink/constants";

export type NetnsKind = "netns" | "own-netns" | "not-netns" | "missing";

// Synchronous stat: node:fs is loaded by then anyway, node:fs/promises would cost another millisecond.
export async function probeNetns(path: string): Promise<NetnsKind> {
  let target;
  try {
    target = statSync(path);
  } catch (error: unknown) {
    if (hasErrorCode(error, "ENOENT", "ENOTDIR")) return "missing";
    // Too long, a symlink loop, not searchable: no namespace can be reached by that path.
    return "not-netns";
  }
  // The thread's own namespace, which is the process's: no JavaScript runs on another thread here.
  const own = statSync("/proc/self/ns/net");
  if (target.dev !== own.dev) return "not-netns";
  if (target.ino === own.ino) return "own-netns";
  return (await entersAsNetns(path)) ? "netns" : "not-netns";
}

/** setns(CLONE_NEWNET) refuses a namespace of another type with EINVAL. The plugins load the addon anyway. */
async function entersAsNetns(path: string): Promise<boolean> {
  const native = await loadNative();
  let fd: number;
  try {
    fd = native.netlinkOpen(NETLINK_ROUTE, path);
  } catch (error: unknown) {
    if (hasErrorCode(error, "EINVAL")) return false;
    throw error;
  }
  native.closeFd(fd);
  return true;
}
