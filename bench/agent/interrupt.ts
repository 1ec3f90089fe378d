// Ctrl-C or SIGTERM in the middle of a benchmark skips every `finally`: the cleanups registered
// here (synchronous: processes killed by PID, namespaces and files removed) run instead, newest
// first, and the process exits with 128 + the signal's number.

const cleanups = new Set<() => void>();

function cleanUpAndExit(signal: NodeJS.Signals): void {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup();
    } catch (error: unknown) {
      console.error(`cleanup after ${signal} failed:`, error);
    }
  }
  process.exit(128 + (signal === "SIGINT" ? 2 : 15));
}

process.once("SIGINT", cleanUpAndExit);
process.once("SIGTERM", cleanUpAndExit);

/** Registers a cleanup for a signal; call the returned function once the normal path cleaned up. */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
