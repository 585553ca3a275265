import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpRequest, HttpResponse } from "./http";

export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse>;

export interface Exchange {
  method: string;
  path: string;
  status: number;
  /** The response body as sent (the front door never puts a callback id or an ARN in one). */
  response: string;
}

/**
 * The front door's handlers on a local HTTP server, for the tests and for trying it with curl: each request
 * becomes the event a Lambda Function URL would deliver (raw path, lower-case headers, the body as sent).
 * `/webhooks/...` goes to the webhook handler, everything else to the API. It listens on 127.0.0.1 only.
 */
export async function startLocalServer(
  routes: { api: HttpHandler; webhook: HttpHandler },
  port = 0,
): Promise<{ url: string; exchanges: Exchange[]; close: () => Promise<void> }> {
  const exchanges: Exchange[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    void (async () => {
      const request = await toFunctionUrlEvent(incoming);
      const handler = request.rawPath.startsWith("/webhooks/") ? routes.webhook : routes.api;
      const response = await handler(request).catch((): HttpResponse => ({
        statusCode: 500,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ error: "Internal error" }),
      }));
      exchanges.push({
        method: request.requestContext.http.method,
        path: request.rawPath,
        status: response.statusCode,
        response: response.body,
      });
      outgoing.writeHead(response.statusCode, response.headers);
      outgoing.end(response.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    exchanges,
    close: () =>
      new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

async function toFunctionUrlEvent(incoming: IncomingMessage): Promise<HttpRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  return {
    rawPath: new URL(incoming.url ?? "/", "http://127.0.0.1").pathname,
    requestContext: { http: { method: incoming.method ?? "GET" } },
    headers,
    isBase64Encoded: false,
    ...(body === "" ? {} : { body }),
  };
}
