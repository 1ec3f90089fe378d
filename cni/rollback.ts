// Undo on failure: a plugin registers the undo of each resource right after acquiring it, and either
// commits (success: nothing is undone) or rolls back (failure: every undo runs, newest first). An undo
// that fails is logged and the others still run; the original error is what the runtime sees.

import type { Logger } from "./log";

type Undo = () => unknown;

export class Rollback {
  private readonly logger: Logger;
  private readonly undos: { readonly what: string; readonly undo: Undo }[] = [];

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Registers the undo of something just acquired; `what` names it in logs. */
  defer(what: string, undo: Undo): void {
    this.undos.push({ what, undo });
  }

  /** Runs `work`; if it throws, undoes everything registered so far and rethrows. */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.undos.length = 0;
      return result;
    } catch (error: unknown) {
      await this.rollBack(error);
      throw error;
    }
  }

  private async rollBack(cause: unknown): Promise<void> {
    const reason = cause instanceof Error ? cause.message : String(cause);
    for (let entry = this.undos.pop(); entry !== undefined; entry = this.undos.pop()) {
      try {
        await entry.undo();
      } catch (error: unknown) {
        this.logger.error(`rollback: could not undo ${entry.what}`, {
          error: error instanceof Error ? error.message : String(error),
          reason,
        });
      }
    }
  }
}
