import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the server received it. */
export interface Received {
  method: string;
  /** The path and query, as sent: `/purchasing/purchase-requests`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the server answers a request: a status and a body, or `undefined` for 200 and `{}`. */
export type Answer = (request: Received) => { status: number; body: string } | undefined;

/**
 * A real HTTP server on 127.0.0.1 (an ephemeral port) playing the back office: it records every
 * request it receives, so a test asserts on what reached the services, not on what the client says it sent.
 */
export async function recordingServer(answer: Answer = () => undefined) {
  const received: Received[] = [];
  let answering = answer;
  const server = createServer((request, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const seen = { method: request.method ?? "", path: request.url ?? "", headers: request.headers, body };
      received.push(seen);
      const { status, body: text } = answering(seen) ?? { status: 200, body: "{}" };
      response.writeHead(status, { "content-type": "application/json" }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    /** Answers from now on with `next`. */
    answerWith(next: Answer) {
      answering = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
export type RecordingServer = Awaited<ReturnType<typeof recordingServer>>;

/**
 * A hostile error body: 1 MB, with new lines, ANSI escapes and the token echoed back throughout (as a service
 * that quotes the request's headers in its error does).
 */
export function hostileErrorBody(token: string): string {
  const chunk = `error\n\u001b[31mAuthorization: Bearer ${token}\u001b[0m\r\nforged: line ${token} `;
  return chunk.repeat(Math.ceil((1024 * 1024) / chunk.length)).slice(0, 1024 * 1024);
}

/** One line, bounded, without the token: what any text from a provider must be once it leaves the HTTP client. */
export function expectSafeLine(text: string, token: string, max = 400) {
  expect(text.length).toBeLessThanOrEqual(max);
  for (const control of ["\r", "\n", "\u001b"]) expect(text).not.toContain(control);
  expect(text).not.toContain(token);
}
