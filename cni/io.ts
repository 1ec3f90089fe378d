// What the protocol layer needs from its process, injectable so the whole protocol is testable
// without one: the environment, stdin, and line-oriented stdout and stderr.

export type Env = Readonly<Record<string, string | undefined>>;

export interface Io {
  readonly env: Env;
  /** All of stdin; rejects with StdinTooLargeError beyond `limit` bytes. */
  readStdin(limit: number): Promise<Uint8Array>;
  /** Writes `line` and a newline to stdout, which belongs to the CNI protocol alone. */
  stdout(line: string): void;
  /** Writes `line` and a newline to stderr: logs, the "about" text, usage. */
  stderr(line: string): void;
}

export class StdinTooLargeError extends Error {
  readonly limit: number;

  constructor(limit: number) {
    super(`stdin is larger than ${limit} bytes`);
    this.name = "StdinTooLargeError";
    this.limit = limit;
  }
}

/** An Io over fixed input that records output: for tests and for in-process delegation. */
export class BufferedIo implements Io {
  readonly env: Env;
  readonly output: string[] = [];
  private readonly input: Uint8Array;
  private readonly forwardStderr: ((line: string) => void) | undefined;
  readonly errors: string[] = [];

  constructor(env: Env, input: Uint8Array | string, forwardStderr?: (line: string) => void) {
    this.env = env;
    this.input = typeof input === "string" ? new TextEncoder().encode(input) : input;
    this.forwardStderr = forwardStderr;
  }

  async readStdin(limit: number): Promise<Uint8Array> {
    if (this.input.length > limit) throw new StdinTooLargeError(limit);
    return this.input;
  }

  stdout(line: string): void {
    this.output.push(line);
  }

  stderr(line: string): void {
    this.errors.push(line);
    this.forwardStderr?.(line);
  }

  /** Everything written to stdout, as a process's stdout would hold it. */
  get stdoutText(): string {
    return this.output.map((line) => `${line}\n`).join("");
  }
}
