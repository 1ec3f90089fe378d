// A client of etcd's v3 API through its JSON gateway (HTTP/1.1 POST of the gRPC messages as JSON,
// served by etcd itself on the client URLs since 3.3; bytes are base64, 64-bit integers strings).
// Chosen over the etcd3 npm package, which cannot run from the Bun-compiled binary: see
// docs/decisions.md "etcd client". node:http rather than fetch, because fetch cannot present a
// client certificate under Node.
//
// Several endpoints: a request that cannot reach one (connection error, timeout, 5xx) moves to the
// next, and the one that answered is tried first next time.

import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

import { JsonReader } from "../../cni/json";
import { LeaseStoreError } from "./errors";

export interface EtcdTlsMaterial {
  /** PEM contents (not paths): CA bundle to verify etcd, client certificate and key. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface EtcdGatewayOptions {
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTlsMaterial;
  /** Limit for one unary request (default 5 s); streams have none. */
  readonly requestTimeoutMs?: number;
}

/** etcd answered with an error (its gRPC code and message), or could not be reached. */
export class EtcdError extends LeaseStoreError {
  /** The gRPC status code etcd reported, if it answered. */
  readonly grpcCode: number | undefined;

  constructor(message: string, grpcCode?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "EtcdError";
    this.grpcCode = grpcCode;
  }
}

/** Thrown when etcd answered, so that trying another endpoint would not help. */
class DefinitiveError extends EtcdError {}

export class EtcdGateway {
  private readonly endpoints: readonly URL[];
  private readonly timeoutMs: number;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, keepAliveMsecs: 10_000 });
  private readonly httpsAgent: HttpsAgent;
  private preferred = 0;

  constructor(options: EtcdGatewayOptions) {
    if (options.endpoints.length === 0) throw new RangeError("etcd: no endpoints");
    this.endpoints = options.endpoints.map((endpoint) => {
      const url = new URL(endpoint);
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new RangeError(`etcd endpoint ${JSON.stringify(endpoint)} is not an http:// or https:// URL`);
      }
      return url;
    });
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.httpsAgent = new HttpsAgent({ keepAlive: true, keepAliveMsecs: 10_000, ...options.tls });
  }

  /** One request/response call, e.g. call("/v3/kv/range", {key}). */
  async call(path: string, body: object): Promise<JsonReader> {
    return this.withFailover(async (endpoint) => {
      const response = await this.post(endpoint, path, body, this.timeoutMs);
      const text = await readAll(response);
      const json = parseJson(text, path);
      if (response.statusCode !== 200) throw errorReply(json, response.statusCode ?? 0, path);
      return new JsonReader(json, path);
    });
  }

  /**
   * A server stream (e.g. "/v3/watch"): each message's `result` goes to `onMessage` in order.
   * Resolves when the server ends the stream or `signal` aborts; rejects when it fails.
   */
  async stream(
    path: string,
    body: object,
    onMessage: (result: JsonReader) => void,
    signal: AbortSignal,
  ): Promise<void> {
    // Only opening the stream moves to another endpoint: once messages flowed, resuming is the
    // caller's business (it knows from which revision).
    const response = await this.withFailover(async (endpoint) => {
      const opened = await this.post(endpoint, path, body, undefined, signal);
      if (opened.statusCode === 200) return opened;
      throw errorReply(parseJson(await readAll(opened), path), opened.statusCode ?? 0, path);
    });
    await readLines(response, signal, (line) => {
      const message = new JsonReader(parseJson(line, path), path);
      const error = message.child("error");
      if (error !== undefined) throw errorReply(error.object, 0, path);
      const result = message.child("result");
      if (result !== undefined) onMessage(result);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async withFailover<T>(attempt: (endpoint: URL) => Promise<T>): Promise<T> {
    const errors: unknown[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.preferred + i) % this.endpoints.length;
      try {
        const result = await attempt(this.endpoints[index] as URL);
        this.preferred = index;
        return result;
      } catch (error: unknown) {
        if (error instanceof DefinitiveError) throw error;
        errors.push(error);
      }
    }
    const last = errors.at(-1);
    if (this.endpoints.length === 1 && last instanceof EtcdError) throw last;
    throw new EtcdError(
      `etcd unreachable at ${this.endpoints.map((e) => e.origin).join(", ")}: ${errors.map((e) => (e as Error).message).join("; ")}`,
      undefined,
      { cause: last },
    );
  }

  private post(
    endpoint: URL,
    path: string,
    body: object,
    timeoutMs: number | undefined,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const secure = endpoint.protocol === "https:";
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) return reject(new EtcdError(`${endpoint.origin}${path}: aborted`));
      const options = {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      };
      const url = new URL(path, endpoint);
      const request: ClientRequest = secure
        ? httpsRequest(url, { ...options, agent: this.httpsAgent })
        : httpRequest(url, { ...options, agent: this.httpAgent });
      const fail = (error: Error): void => {
        request.destroy();
        reject(new EtcdError(`${endpoint.origin}${path}: ${error.message}`, undefined, { cause: error }));
      };
      request.on("error", fail);
      if (timeoutMs !== undefined) {
        request.setTimeout(timeoutMs, () => fail(new Error(`no answer within ${timeoutMs} ms`)));
      }
      const onAbort = (): void => fail(new Error("aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      request.on("close", () => signal?.removeEventListener("abort", onAbort));
      request.on("response", resolve);
      request.end(payload);
    });
  }
}

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("connection lost mid-response")));
  });
}

/** Calls `onLine` for each newline-terminated line until the response ends or `signal` aborts. */
function readLines(response: IncomingMessage, signal: AbortSignal, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = "";
    let done = false;
    // Whatever ends the stream first decides; an abort asked for is a normal end.
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      signal.removeEventListener("abort", onAbort);
      response.destroy();
      if (error === undefined || signal.aborted) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish();
    if (signal.aborted) return finish();
    signal.addEventListener("abort", onAbort, { once: true });
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      pending += chunk;
      for (let newline = pending.indexOf("\n"); newline !== -1 && !done; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        try {
          if (line !== "") onLine(line);
        } catch (error: unknown) {
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      }
    });
    response.on("end", () => finish());
    response.on("error", (error) => finish(error));
    response.on("aborted", () => finish(new Error("connection lost")));
    response.on("close", () => finish(new Error("connection lost")));
  });
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new EtcdError(`${path}: etcd answered with something other than JSON: ${text.slice(0, 200)}`);
  }
}

/** etcd's gateway error body: {"error": "...", "code": 9, "message": "..."}. */
function errorReply(json: unknown, status: number, path: string): EtcdError {
  const reader = new JsonReader(typeof json === "object" && json !== null ? json : {}, path);
  const code = typeof reader.raw("code") === "number" ? (reader.raw("code") as number) : undefined;
  const message = reader.raw("message") ?? reader.raw("error") ?? `HTTP ${status}`;
  const text = `${path}: ${typeof message === "string" ? message : JSON.stringify(message)}`;
  // 5xx (no leader, unavailable) may be one member's trouble: another endpoint may do better.
  return status >= 500 ? new EtcdError(text, code) : new DefinitiveError(text, code);
}

export function toBase64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

export function fromBase64(text: string): string {
  return Buffer.from(text, "base64").toString("utf8");
}

/** The end of the key range holding every key that starts with `prefix` (etcd's WithPrefix). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] as number) < 0xff) {
      const end = bytes.subarray(0, i + 1);
      end[i] = (end[i] as number) + 1;
      return end.toString("base64");
    }
  }
  return Buffer.from([0]).toString("base64");
}

/** One key of a range or watch response. */
export interface EtcdKeyValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: bigint;
  /** The etcd lease ID (decimal text), "0" for none. */
  readonly lease: string;
}

export function readKeyValue(reader: JsonReader): EtcdKeyValue {
  return {
    key: fromBase64(reader.string("key") ?? ""),
    value: fromBase64(reader.string("value") ?? ""),
    modRevision: BigInt(reader.string("mod_revision") ?? "0"),
    lease: reader.string("lease") ?? "0",
  };
}
