// Loads the addon embedded in the compiled binary (Bun only: uses bun:ffi).
//
// Bun's own way of loading an embedded addon writes it to /tmp under a name derived from its
// content and dlopen()s that path: a local user can pre-create the file and have root load their
// code, and it fails when /tmp is mounted noexec. Instead, the image is written into an anonymous,
// sealed memory file (memfd_create) and loaded through /proc/self/fd. Where memfd is unavailable,
// an unnamed O_TMPFILE in the binary's own directory is used: it has no name to predict, and that
// directory necessarily allows execution. No path another user can write is ever loaded.

import { closeSync, openSync, readFileSync, writeSync } from "node:fs";

import { directoryOf } from "../cni/path";
import type { NativeBinding } from "./binding";
import { dlopenAddon, type LoadAttempt, NativeLoadError } from "./loader";

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
const MFD_EXEC = 0x10; // Linux 6.3+: required where vm.memfd_noexec makes memfds non-executable
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;
const O_TMPFILE = 0o20200000; // __O_TMPFILE | O_DIRECTORY
const O_RDWR = 0o2;
const EINVAL = 22;

interface Libc {
  memfdCreate(name: string, flags: number): number;
  addSeals(fd: number, seals: number): number;
  errno(): number;
}

async function openLibc(): Promise<Libc> {
  const { dlopen, FFIType, read } = await import("bun:ffi");
  const libc = dlopen("libc.so.6", {
    memfd_create: { args: [FFIType.cstring, FFIType.u32], returns: FFIType.i32 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
  const { memfd_create, fcntl, __errno_location } = libc.symbols;
  return {
    // A TextEncoder, not Buffer.from: Bun's Buffer.from costs 300 thousand instructions at first use.
    memfdCreate: (name, flags) => memfd_create(new TextEncoder().encode(`${name}\0`), flags),
    addSeals: (fd, seals) => fcntl(fd, F_ADD_SEALS, seals),
    errno: () => read.i32(__errno_location()),
  };
}

function errnoError(syscall: string, errno: number): Error {
  return Object.assign(new Error(`${syscall} failed with errno ${errno}`), { errno: -errno, syscall });
}

async function createSealableMemfd(): Promise<number> {
  const libc = await openLibc();
  const flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  let fd = libc.memfdCreate("tscni-native", flags | MFD_EXEC);
  // Kernels before 6.3 do not know MFD_EXEC (EINVAL); their memfds are executable anyway.
  if (fd < 0 && libc.errno() === EINVAL) fd = libc.memfdCreate("tscni-native", flags);
  if (fd < 0) throw errnoError("memfd_create", libc.errno());
  return fd;
}

async function sealMemfd(fd: number): Promise<void> {
  const libc = await openLibc();
  if (libc.addSeals(fd, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    throw errnoError("fcntl(F_ADD_SEALS)", libc.errno());
  }
}

function writeAll(fd: number, image: Uint8Array): void {
  for (let offset = 0; offset < image.length;) offset += writeSync(fd, image, offset);
}

interface Strategy {
  readonly method: string;
  create(): Promise<number>;
  /** Runs after the image is written, before it is loaded. */
  finish(fd: number): Promise<void>;
}

/** The strategies in order of preference; exported so tests can list what is tried. */
export function strategies(executablePath: string): readonly Strategy[] {
  const directory = directoryOf(executablePath);
  return [
    { method: "memfd_create (sealed anonymous memory file)", create: createSealableMemfd, finish: sealMemfd },
    {
      method: `unnamed O_TMPFILE in ${directory}`,
      create: async () => openSync(directory, O_TMPFILE | O_RDWR, 0o500),
      finish: async () => {},
    },
  ];
}

export async function loadEmbeddedAddon(embeddedPath: string): Promise<NativeBinding> {
  const image = readFileSync(embeddedPath);
  const attempts: LoadAttempt[] = [];
  for (const strategy of strategies(process.execPath)) {
    let fd: number | undefined;
    try {
      fd = await strategy.create();
      writeAll(fd, image);
      await strategy.finish(fd);
      return dlopenAddon(`/proc/self/fd/${fd}`, `${strategy.method}, embedded ${embeddedPath}`);
    } catch (error: unknown) {
      attempts.push({ method: strategy.method, error });
    } finally {
      // The mapping made by dlopen outlives the descriptor.
      if (fd !== undefined) closeSync(fd);
    }
  }
  throw new NativeLoadError(attempts);
}
