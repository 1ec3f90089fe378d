// The real process behind the Io interface. stdout and stderr go through console.log/error, which
// in the compiled binary cost nothing at start-up (process.stdout takes milliseconds to set up).

import { type Io, StdinTooLargeError } from "../cni/io";

const CHUNK = 64 * 1024;

export function processIo(): Io {
  return {
    env: process.env,
    readStdin,
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
  };
}

async function readStdin(limit: number): Promise<Uint8Array> {
  const { readSync } = await import("node:fs");
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const chunk = new Uint8Array(CHUNK);
    let count: number;
    try {
      count = readSync(0, chunk, 0, CHUNK, null);
    } catch (error: unknown) {
      // A runtime may hand over a non-blocking pipe; wait for it rather than fail.
      if ((error as { code?: unknown }).code === "EAGAIN") {
        await new Promise((resolve) => setTimeout(resolve, 1));
        continue;
      }
      throw error;
    }
    if (count === 0) break;
    total += count;
    if (total > limit) throw new StdinTooLargeError(limit);
    chunks.push(chunk.subarray(0, count));
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
