import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the provider received it: its own record, independent of what the workflow reports. */
export interface Received {
  method: string;
  path: string;
  query: string;
  authorization?: string;
  idempotencyKey?: string;
  headers?: http.IncomingHttpHeaders;
  body: unknown;
}

/** Answers `[status, body]` for a request; `undefined` means the route is unknown (404). */
export type Answer = (request: Received, received: Received[]) => [number, unknown] | undefined;

/**
 * The outside services of one pattern, on 127.0.0.1: each configured base URL is `<url>/<service>/`, so a handler
 * that dropped the base path would reach no route. Every request is recorded before it is answered.
 */
export async function providers(answer: Answer) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://providers");
      let body: unknown = raw;
      try {
        body = raw === "" ? undefined : JSON.parse(raw);
      } catch {
        // kept as text
      }
      const request: Received = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.search,
        authorization: req.headers.authorization,
        idempotencyKey: req.headers["idempotency-key"] as string | undefined,
        headers: req.headers,
        body,
      };
      received.push(request);
      const [status, reply] = answer(request, received) ?? [
        404,
        { error: `no route ${request.method} ${url.pathname}` },
      ];
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(reply ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** Requests to one route, e.g. `to("POST", "/inventory/reservations")`. */
    to: (method: string, path: string) => received.filter((r) => r.method === method && r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
