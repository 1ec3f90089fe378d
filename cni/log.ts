// Logging through winston, loaded only when a record is actually emitted: winston takes tens of
// milliseconds to load in the compiled binary, and a plugin is one process per pod and verb, so
// the common case (nothing at or above the configured level) must not pay for it.
//
// Records go to stderr or to a file, never to stdout. Records are queued while winston loads and
// written in order; `flush()` waits until they are out, and the skeleton calls it before exiting.

export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogMeta = Readonly<Record<string, unknown>>;

export interface Logger {
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  /** A logger whose records all carry `meta` (plugin, containerId, ...). */
  child(meta: LogMeta): Logger;
}

export interface LogOptions {
  readonly level: LogLevel;
  /** Append to this file instead of writing to stderr. */
  readonly file?: string;
  /** Where stderr records go (the skeleton's Io). */
  readonly stderr: (line: string) => void;
}

export interface LogSink {
  readonly logger: Logger;
  flush(): Promise<void>;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly meta: LogMeta;
}

type Backend = { write(record: LogRecord): void; close(): Promise<void> };

export function createLogSink(options: LogOptions): LogSink {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const queue: LogRecord[] = [];
  let backend: Promise<Backend> | undefined;
  let draining: Promise<void> = Promise.resolve();

  const emit = (record: LogRecord): void => {
    if (LOG_LEVELS.indexOf(record.level) > threshold) return;
    queue.push(record);
    backend ??= openBackend(options);
    const opened = backend;
    draining = draining.then(async () => {
      const sink = await opened;
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) sink.write(next);
    });
  };

  // A level below the threshold costs one comparison: its record is never built.
  const make = (meta: LogMeta): Logger => {
    const at =
      (level: LogLevel) =>
      (message: string, extra?: LogMeta): void => {
        if (LOG_LEVELS.indexOf(level) <= threshold) emit({ level, message, meta: { ...meta, ...extra } });
      };
    return {
      error: at("error"),
      warn: at("warn"),
      info: at("info"),
      debug: at("debug"),
      child: (extra) => make({ ...meta, ...extra }),
    };
  };

  return {
    logger: make({}),
    async flush(): Promise<void> {
      await draining;
      if (backend !== undefined) await (await backend).close();
    },
  };
}

async function openBackend(options: LogOptions): Promise<Backend> {
  const [{ default: winston }, { Writable }] = await Promise.all([import("winston"), import("node:stream")]);
  const opened = options.file !== undefined ? await openLogFile(options.file) : undefined;
  const file = opened instanceof Error ? undefined : opened;
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done): void {
      const line = String(chunk);
      if (file === undefined || !file.write(line)) options.stderr(line.replace(/\n$/, ""));
      done();
    },
  });
  const format = winston.format.combine(winston.format.timestamp(), winston.format.json());
  const logger = winston.createLogger({
    level: options.level,
    format,
    transports: [new winston.transports.Stream({ stream })],
  });
  if (opened instanceof Error) {
    logger.error("cannot open the log file; logging to stderr", { logFile: options.file, error: opened.message });
  }
  return {
    write: (record) => logger.log(record.level, record.message, record.meta),
    close: () =>
      new Promise<void>((resolve) => {
        logger.on("finish", () => {
          file?.close();
          resolve();
        });
        logger.end();
      }),
  };
}

interface LogFile {
  /** Appends `text`; false if it could not be written. */
  write(text: string): boolean;
  close(): void;
}

/**
 * The log file, opened and written here rather than by winston's File transport: that transport
 * swallows an open error (a directory, a read-only file system) and then never finishes, which
 * would hang the plugin. A file that cannot be opened or written sends the records to stderr.
 *
 * The plugins run as root and the path may lie in a directory others can write (/tmp): the file is
 * created private (0600, missing directories 0700), never reached through a symlink, and an
 * existing file is appended to only if it is a regular file of this user with no other hard link,
 * so no one can point the records at a file of their choosing or read them.
 */
async function openLogFile(path: string): Promise<LogFile | Error> {
  const [{ closeSync, constants, fstatSync, mkdirSync, openSync, writeSync }, { dirname }] = await Promise.all([
    import("node:fs"),
    import("node:path"),
  ]);
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error: unknown) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const stats = fstatSync(fd);
  const uid = process.geteuid?.() ?? stats.uid;
  const refusal = !stats.isFile()
    ? "not a regular file"
    : stats.uid !== uid
      ? `owned by uid ${stats.uid}, not ${uid}`
      : stats.nlink !== 1
        ? "hard-linked elsewhere"
        : undefined;
  if (refusal !== undefined) {
    closeSync(fd);
    return new Error(`${path} is ${refusal}; not appending to it`);
  }
  return {
    write(text: string): boolean {
      try {
        writeSync(fd, text);
        return true;
      } catch {
        return false;
      }
    },
    close: () => closeSync(fd),
  };
}
