// The delegate config of each container, saved at ADD under `<dataDir>/<containerID>` (upstream's
// layout: directory 0700, file 0600) so that DEL replays exactly what ADD delegated, even after
// subnet.env changed. Unlike upstream, the file is written atomically (temporary file, fsync,
// rename): a crash mid-write leaves the previous state, never a torn config that DEL cannot read.
// The temporary file is always a new one (O_EXCL) and no symlink is ever followed, in writing or
// reading, so an entry planted in the directory cannot redirect what a root plugin writes or reads.

import { joinPath } from "../../cni/path";
import { validateContainerId } from "../../cni/validate";

// Container IDs start with an alphanumeric (cni/validate.ts), so these names never collide with one.
const TEMPORARY_PREFIX = ".tmp-";

export class ScratchDir {
  readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  pathOf(containerId: string): string {
    return joinPath(this.dataDir, containerId);
  }

  async save(containerId: string, bytes: Uint8Array): Promise<void> {
    const fs = await import("node:fs");
    const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = fs.constants;
    fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const temporary = joinPath(this.dataDir, `${TEMPORARY_PREFIX}${containerId}-${process.pid}`);
    // Whatever has this name is a leftover of a killed plugin that had the same PID.
    fs.rmSync(temporary, { force: true });
    try {
      const fd = fs.openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      try {
        fs.writeFileSync(fd, bytes);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(temporary, this.pathOf(containerId));
    } catch (error: unknown) {
      fs.rmSync(temporary, { force: true });
      throw error;
    }
  }

  /** The saved bytes, or undefined when nothing was saved for the container. */
  async load(containerId: string): Promise<Uint8Array | undefined> {
    const { closeSync, constants, openSync, readFileSync } = await import("node:fs");
    let fd: number;
    try {
      fd = openSync(this.pathOf(containerId), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error: unknown) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async remove(containerId: string): Promise<void> {
    const { rmSync } = await import("node:fs");
    rmSync(this.pathOf(containerId), { force: true });
  }

  /**
   * What the directory holds: the container IDs with a saved config, and the leftovers of
   * interrupted saves. Only regular files named like a container ID count; an absent directory
   * holds nothing.
   */
  async list(): Promise<{ containerIds: string[]; leftovers: string[] }> {
    const { readdirSync } = await import("node:fs");
    let names: string[];
    try {
      names = readdirSync(this.dataDir, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => entry.name);
    } catch (error: unknown) {
      if (isNotFound(error)) return { containerIds: [], leftovers: [] };
      throw error;
    }
    return {
      containerIds: names.filter(isContainerId),
      leftovers: names.filter((name) => name.startsWith(TEMPORARY_PREFIX)),
    };
  }

  /**
   * Removes the temporary files of the container's saves that never finished (the plugin was killed
   * between writing and renaming): nothing else would remove them before a GC.
   */
  async removeInterruptedSaves(containerId: string): Promise<void> {
    const { readdirSync, rmSync } = await import("node:fs");
    const prefix = `${TEMPORARY_PREFIX}${containerId}-`;
    let names: string[];
    try {
      names = readdirSync(this.dataDir);
    } catch (error: unknown) {
      if (isNotFound(error)) return;
      throw error;
    }
    for (const name of names) {
      // `.tmp-<containerID>-<pid>`: another container's ID may extend this one's, its pid cannot.
      if (name.startsWith(prefix) && /^[0-9]+$/.test(name.slice(prefix.length))) {
        rmSync(joinPath(this.dataDir, name), { force: true });
      }
    }
  }

  async removeLeftover(name: string): Promise<void> {
    const { rmSync } = await import("node:fs");
    rmSync(joinPath(this.dataDir, name), { force: true });
  }
}

function isContainerId(name: string): boolean {
  try {
    validateContainerId(name);
    return true;
  } catch {
    return false;
  }
}

/** Nothing there, or nothing that could ever be: a name too long for a file (a container ID of 300 characters). */
function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "ENAMETOOLONG";
}
