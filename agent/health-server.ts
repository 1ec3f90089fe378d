// /healthz (the process serves), /readyz (subnet.env is written and the overlay rules are in place,
// as flanneld's) and /metrics (Prometheus text format) over plain HTTP, on localhost by default.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { AgentMetrics } from "./metrics";

export interface HealthSource {
  readonly metrics: AgentMetrics;
  isReady(): boolean;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** "127.0.0.1:9464", "[::1]:9464", ":9464" (every address). */
export function parseListenAddress(text: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) throw new RangeError(`${JSON.stringify(text)} is not host:port`);
  return { host: match[1] ?? (match[2] === "" ? "::" : (match[2] ?? "")), port };
}

export class HealthServer {
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async listen(address: ListenAddress, source: HealthSource): Promise<HealthServer> {
    const server = createServer((request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      const reply = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
        response.writeHead(status, { "content-type": type });
        response.end(request.method === "HEAD" ? undefined : body);
      };
      if (request.method !== "GET" && request.method !== "HEAD") return reply(405, "method not allowed\n");
      switch (path) {
        case "/healthz":
          return reply(200, "ok\n");
        case "/readyz":
          return source.isReady() ? reply(200, "ready\n") : reply(503, "not ready\n");
        case "/metrics":
          return reply(200, source.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
        default:
          return reply(404, "not found\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(address.port, address.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return new HealthServer(server);
  }

  get address(): ListenAddress {
    const info = this.server.address() as AddressInfo;
    return { host: info.address, port: info.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
