import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import * as z from "zod/mini";
import {
  endpoint,
  httpCall,
  HttpSettingError,
  MAX_EXCERPT_CHARS,
  safeExcerpt,
  type HttpCall,
  type HttpResult,
} from "../src/http-call";

// src/http-call.ts against a real HTTP server on 127.0.0.1: what reaches the wire (paths, headers, bodies) and
// which fact each answer or failure becomes. This file is the same in every pattern (tools/docs-check).
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

class RecordingServer {
  readonly received: Received[] = [];
  /** What the server does with the next requests; by default a 200 with `{}`. */
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void = (_req, res) =>
    json(res, 200, {});
  base = "";
  private readonly server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      this.received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      this.handler(req, res, body);
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

const TOKEN = "tok_9f8e7d6c5b4a39281706";
let service: RecordingServer;
beforeAll(async () => {
  service = await new RecordingServer().start();
});
afterAll(() => service.stop());
beforeEach(() => {
  service.received.length = 0;
  service.handler = (_req, res) => json(res, 200, {});
});

const call = <T = unknown>(overrides: Partial<HttpCall<T>> = {}): Promise<HttpResult<T>> =>
  httpCall<T>({
    baseUrl: `${service.base}/api`,
    path: "orders",
    method: "POST",
    timeoutMs: 2000,
    ...overrides,
  });

/** A port nobody listens on: one that was free a moment ago. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Every excerpt a result carries, whatever its kind. */
const excerptOf = (result: HttpResult<unknown>): string => ("excerpt" in result ? result.excerpt : "");

describe("where the call goes: the base URL keeps its path", () => {
  it.each([
    ["without a trailing slash", "/inventory", "reservations", "/inventory/reservations"],
    ["with a trailing slash", "/inventory/", "reservations", "/inventory/reservations"],
    [
      "with a deeper base path",
      "/v2/inventory",
      "reservations/r-1/releases",
      "/v2/inventory/reservations/r-1/releases",
    ],
    ["at the root without a slash", "", "reservations", "/reservations"],
    ["at the root with a slash", "/", "reservations", "/reservations"],
    [
      "with the path's own query",
      "/pay",
      "charges?idempotencyKey=o-1%3Acharge",
      "/pay/charges?idempotencyKey=o-1%3Acharge",
    ],
  ])("%s: %s + %s reaches %s", async (_what, basePath, path, reached) => {
    const result = await call({ baseUrl: `${service.base}${basePath}`, path });
    expect(result).toEqual({
      kind: "answered",
      call: expect.stringContaining("POST ") as string,
      status: 200,
      value: {},
    });
    expect(service.received.map((request) => `${request.method} ${request.url}`)).toEqual([
      `POST ${reached}`,
    ]);
  });

  it("an empty path calls the base URL itself, its query included (a webhook URL is the whole address)", async () => {
    const result = await call({ baseUrl: `${service.base}/hooks/abc?key=k1`, path: "" });
    expect(result.kind).toBe("answered");
    expect(service.received.map((request) => request.url)).toEqual(["/hooks/abc?key=k1"]);
  });

  it.each([
    ["a query", "/api?code=FnKey42"],
    ["a query and a fragment", "/api?tenant=x#top"],
    ["a fragment", "/api#top"],
  ])(
    "a base URL with %s under a path is refused, before anything is sent: it would be dropped",
    async (_what, base) => {
      const sending = call({ baseUrl: `${service.base}${base}`, path: "orders", token: TOKEN });
      await expect(sending).rejects.toThrow(
        new HttpSettingError(
          "the service's base URL must not have a query or fragment: put credentials in the token setting",
        ),
      );
      await expect(sending).rejects.not.toThrow("FnKey42");
      expect(service.received).toEqual([]);
    },
  );

  it("names the call by method, origin and path, without the query", async () => {
    const result = await call({ method: "GET", path: "charges?idempotencyKey=secretish" });
    expect(result.call).toBe(`GET ${service.base}/api/charges`);
  });

  it("endpoint() is the same resolution, checked before any request", () => {
    expect(endpoint("https://h.example/inventory", "reservations").toString()).toBe(
      "https://h.example/inventory/reservations",
    );
    expect(endpoint("https://h.example/inventory/", "reservations").toString()).toBe(
      "https://h.example/inventory/reservations",
    );
  });
});

describe("settings refused before anything is sent", () => {
  it.each([
    ["credentials in the base URL", "http://user:pa55word@127.0.0.1:1/api", "must not contain credentials"],
    ["a user name alone", "http://admin@127.0.0.1:1/api", "must not contain credentials"],
    ["a non-http scheme", "ftp://127.0.0.1/api", "must be http(s)"],
    ["a file URL", "file:///etc/passwd", "must be http(s)"],
    ["no URL at all", "not a url", "is not a URL"],
    ["an empty base URL", "", "is not set"],
  ])("%s", async (_what, baseUrl, message) => {
    const sending = call({ baseUrl, token: TOKEN });
    await expect(sending).rejects.toThrow(HttpSettingError);
    await expect(sending).rejects.toThrow(message);
    const error = (await sending.catch((failure: unknown) => failure)) as Error;
    expect(error.message).not.toContain("pa55word");
    expect(service.received).toEqual([]);
  });

  it.each([
    ["a host name", "http://inventory.example/api"],
    ["a private address", "http://10.0.0.7/api"],
    ["a name that starts like loopback", "http://127.0.0.1.example.net/api"],
    ["a name that ends like localhost", "http://evil-localhost/api"],
  ])("plain http to %s is refused: the token would travel in clear", async (_what, baseUrl) => {
    await expect(call({ baseUrl, token: TOKEN })).rejects.toThrow(
      new HttpSettingError("the service's base URL must be https (http only for localhost)"),
    );
    expect(() => endpoint(baseUrl, "")).toThrow(HttpSettingError);
  });

  it.each([
    "http://localhost:8080/api",
    "http://127.0.0.1/api",
    "http://127.3.2.1:9/api",
    "http://[::1]:8080/api",
  ])("plain http to this machine (%s) is allowed", (baseUrl) => {
    expect(endpoint(baseUrl, "orders").pathname).toBe("/api/orders");
  });

  it("credentials in the base URL of the real server: refused, and the server got nothing", async () => {
    const withCredentials = service.base.replace("http://", "http://user:pa55word@");
    await expect(call({ baseUrl: `${withCredentials}/api` })).rejects.toThrow(HttpSettingError);
    expect(service.received).toEqual([]);
  });

  it.each([
    ["an absolute path", "/orders"],
    ["a protocol-relative URL", "//elsewhere.example/orders"],
    ["an absolute URL", "https://elsewhere.example/orders"],
    ["a scheme without slashes", "mailto:someone"],
  ])("%s as the path is refused", async (_what, path) => {
    const sending = call({ path, token: TOKEN });
    await expect(sending).rejects.toThrow(HttpSettingError);
    await expect(sending).rejects.toThrow("the path must be relative to the base URL");
    expect(service.received).toEqual([]);
  });

  it.each([
    ["dot segments", "../admin"],
    ["encoded dot segments", "%2e%2e/admin"],
    ["dot segments in the middle (an id of '..')", "orders/../../admin"],
    ["a backslash, which the URL parser reads as a slash", "\\\\elsewhere.example/orders"],
  ])("a path that would leave the base (%s) is refused", async (_what, path) => {
    const sending = call({ baseUrl: `${service.base}/api/v1`, path, token: TOKEN });
    await expect(sending).rejects.toThrow(HttpSettingError);
    await expect(sending).rejects.toThrow("the path must stay under the base URL");
    expect(service.received).toEqual([]);
  });

  it("a header value HTTP cannot carry (a token with a newline in it) is refused, naming the header, not its value", async () => {
    const sending = call({ token: "abc\r\nx-injected: 1" });
    await expect(sending).rejects.toThrow(
      new HttpSettingError("the authorization header is not valid in HTTP"),
    );
    expect(service.received).toEqual([]);
  });
});

describe("what is sent", () => {
  it("a POST carries JSON, the idempotency key, the bearer token and the caller's headers", async () => {
    await call({
      body: { orderId: "o-1", amountCents: 4900 },
      idempotencyKey: "o-1:charge",
      token: TOKEN,
      headers: { "x-request-source": "cookbook" },
    });
    expect(service.received).toHaveLength(1);
    const [request] = service.received;
    expect(request!.headers).toMatchObject({
      "content-type": "application/json",
      accept: "application/json",
      // No compression asked for: a compressed answer could unpack to any size before the bounded read.
      "accept-encoding": "identity",
      "idempotency-key": "o-1:charge",
      authorization: `Bearer ${TOKEN}`,
      "x-request-source": "cookbook",
    });
    expect(JSON.parse(request!.body)).toEqual({ orderId: "o-1", amountCents: 4900 });
  });

  it("a GET without a body sends no content-type, and no key or authorization that was not given", async () => {
    await call({ method: "GET", path: "charges" });
    const [request] = service.received;
    expect(request!.method).toBe("GET");
    expect(request!.body).toBe("");
    expect(request!.headers["content-type"]).toBeUndefined();
    expect(request!.headers["idempotency-key"]).toBeUndefined();
    expect(request!.headers.authorization).toBeUndefined();
  });

  it("a caller's header cannot replace the token's authorization or the idempotency key", async () => {
    await call({
      token: TOKEN,
      idempotencyKey: "k-1",
      headers: { Authorization: "Bearer someone-else", "Idempotency-Key": "k-2" },
    });
    expect(service.received[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(service.received[0]!.headers["idempotency-key"]).toBe("k-1");
  });
});

describe("answers", () => {
  const Charge = z.object({ chargeId: z.string().check(z.minLength(1)) });

  it("a 2xx matching the schema is answered with the parsed value", async () => {
    service.handler = (_req, res) => json(res, 201, { chargeId: "ch-1", extra: true });
    const result = await call({ answer: Charge });
    expect(result).toEqual({
      kind: "answered",
      call: `POST ${service.base}/api/orders`,
      status: 201,
      value: { chargeId: "ch-1" },
    });
  });

  it("without a schema, any JSON is answered as it came, and an empty body as undefined", async () => {
    service.handler = (_req, res) => json(res, 200, [1, 2]);
    expect(await call()).toMatchObject({ kind: "answered", value: [1, 2] });
    service.handler = (_req, res) => res.writeHead(204).end();
    expect(await call()).toMatchObject({ kind: "answered", status: 204, value: undefined });
  });

  it.each<[string, (res: ServerResponse) => void, string]>([
    ["an empty body", (res) => res.writeHead(200).end(), "empty"],
    [
      "HTML",
      (res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>OK</html>"),
      "not JSON: <html>OK</html>",
    ],
    ["JSON of another shape", (res) => json(res, 200, { id: "ch-1" }), "not the expected answer"],
    ["an empty id", (res) => json(res, 200, { chargeId: "" }), "not the expected answer"],
  ])("a 2xx with %s is malformed", async (_what, answer, excerpt) => {
    service.handler = (_req, res) => answer(res);
    const result = await call({ answer: Charge });
    expect(result).toMatchObject({ kind: "malformed", status: 200 });
    expect(excerptOf(result)).toContain(excerpt);
  });

  it("a 2xx that is not JSON is malformed without a schema too", async () => {
    service.handler = (_req, res) => res.writeHead(200).end("OK");
    expect(await call()).toMatchObject({ kind: "malformed", excerpt: "not JSON: OK" });
  });

  it("a 2xx larger than maxAnswerBytes is malformed, and not read to the end", async () => {
    service.handler = (_req, res) => json(res, 200, { chargeId: "c".repeat(5000) });
    const result = await call({ answer: Charge, maxAnswerBytes: 1000 });
    expect(result).toMatchObject({ kind: "malformed", excerpt: "more than the 1000 bytes accepted" });
  });

  it("a 2xx larger than the default 1 MiB is malformed", async () => {
    service.handler = (_req, res) => json(res, 200, { chargeId: "c".repeat(1024 * 1024 + 10) });
    expect(await call({ answer: Charge })).toMatchObject({
      kind: "malformed",
      excerpt: expect.stringContaining("1048576 bytes") as string,
    });
  });

  it("a 2xx whose body is cut off (the connection dies mid-body) is malformed: the provider acted", async () => {
    service.handler = (_req, res) => {
      res.writeHead(201, { "content-type": "application/json", "content-length": "100" });
      res.write('{"chargeId":');
      setTimeout(() => res.destroy(), 20);
    };
    const result = await call({ answer: Charge });
    expect(result).toMatchObject({
      kind: "malformed",
      status: 201,
      excerpt: expect.stringContaining("body lost") as string,
    });
  });

  it("a 2xx whose body stalls past the timeout is malformed: the status says it acted", async () => {
    service.handler = (_req, res) => {
      res.writeHead(201, { "content-type": "application/json" });
      res.write('{"chargeId":');
    };
    const result = await call({ answer: Charge, timeoutMs: 150 });
    expect(result).toMatchObject({ kind: "malformed", status: 201 });
  });

  it("another status is told with its parsed JSON body", async () => {
    service.handler = (_req, res) => json(res, 404, { error: "no charge", idempotencyKey: "o-1:charge" });
    const result = await call({ method: "GET", path: "charges" });
    expect(result).toEqual({
      kind: "status",
      call: `GET ${service.base}/api/charges`,
      status: 404,
      excerpt: '{"error":"no charge","idempotencyKey":"o-1:charge"}',
      body: { error: "no charge", idempotencyKey: "o-1:charge" },
    });
  });

  it("another status that is not JSON has no body, and an excerpt", async () => {
    service.handler = (_req, res) =>
      res.writeHead(502, { "content-type": "text/html" }).end("<html>Bad Gateway</html>");
    expect(await call()).toEqual(
      expect.objectContaining({
        kind: "status",
        status: 502,
        excerpt: "<html>Bad Gateway</html>",
        body: undefined,
      }),
    );
  });

  it("a 307 is a status, never followed: the Location's server gets nothing", async () => {
    const elsewhere = await new RecordingServer().start();
    try {
      service.handler = (_req, res) => res.writeHead(307, { location: `${elsewhere.base}/steal` }).end();
      const result = await call({ body: { amountCents: 4900 }, idempotencyKey: "k", token: TOKEN });
      expect(result).toMatchObject({ kind: "status", status: 307 });
      expect(service.received).toHaveLength(1);
      expect(elsewhere.received).toEqual([]);
    } finally {
      await elsewhere.stop();
    }
  });

  it("a 308 to the same URL is not followed either: the request went once", async () => {
    service.handler = (req, res) => res.writeHead(308, { location: `${service.base}${req.url}` }).end();
    expect(await call()).toMatchObject({ kind: "status", status: 308 });
    expect(service.received).toHaveLength(1);
  });
});

describe("a provider that compresses anyway", () => {
  it("a gzip bomb in a 2xx (64 MB unpacked) is malformed, read only up to the bound", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    service.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(bomb);
    };
    const before = process.memoryUsage().arrayBuffers;
    const result = await call({ method: "GET", maxAnswerBytes: 64 * 1024 });
    expect(result.kind).toBe("malformed");
    expect(excerptOf(result)).toContain("more than the 65536 bytes accepted");
    // The body stopped unpacking at the bound: far less than 64 MB was ever held.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });
});

describe("failures on the way", () => {
  it("no answer within timeoutMs is timed-out: the request arrived", async () => {
    service.handler = (_req, res) => setTimeout(() => json(res, 200, {}), 1500).unref();
    const started = Date.now();
    const result = await call({ timeoutMs: 100 });
    expect(result).toEqual({
      kind: "timed-out",
      call: `POST ${service.base}/api/orders`,
      excerpt: "no answer in time",
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(service.received).toHaveLength(1);
  });

  it("a refused connection is not-sent", async () => {
    const port = await closedPort();
    const result = await call({ baseUrl: `http://127.0.0.1:${port}/api` });
    expect(result).toMatchObject({
      kind: "not-sent",
      code: "ECONNREFUSED",
      call: `POST http://127.0.0.1:${port}/api/orders`,
    });
  });

  it("the socket destroyed after the request arrived, before any answer, is lost", async () => {
    service.handler = (req) => req.socket.destroy();
    const result = await call({ body: { a: 1 } });
    expect(result.kind).toBe("lost");
    expect(result).toMatchObject({ code: expect.any(String) as string });
    expect(service.received).toHaveLength(1);
  });

  it("the socket destroyed mid-answer of a non-2xx keeps the status", async () => {
    service.handler = (_req, res) => {
      res.writeHead(500, { "content-length": "1000" });
      res.write("partial");
      setTimeout(() => res.destroy(), 20);
    };
    expect(await call()).toMatchObject({ kind: "status", status: 500 });
  });
});

describe("excerpts: bounded, one line, no secret", () => {
  // A hostile or broken provider echoes everything back: 1 MB of error page with newlines, ANSI escapes that
  // would repaint a terminal, a forged log line, and our token, bare and as a header.
  const hostileBody = (token: string) =>
    `\u001b[2J\u001b[31mERROR\u001b[0m\n` +
    `Authorization: Bearer ${token}\r\n` +
    `{"level":"INFO","msg":"forged log line"}\n` +
    `token=${token}\u2028basic=Basic dXNlcjpwYXNz\n` +
    "x\n\u0007\u001b[1A".repeat(200_000);

  it("a 1 MB error body with control characters, ANSI escapes and the token echoed", async () => {
    const body = hostileBody(TOKEN);
    expect(body.length).toBeGreaterThan(1_000_000);
    service.handler = (_req, res) => res.writeHead(500, { "content-type": "text/plain" }).end(body);
    const result = await call({ token: TOKEN });
    expect(result.kind).toBe("status");
    const excerpt = excerptOf(result);
    expect(excerpt.length).toBeLessThanOrEqual(350);
    // eslint-disable-next-line no-control-regex -- the point is to find control characters
    expect(excerpt).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(excerpt).not.toContain(TOKEN);
    expect(excerpt).not.toContain(TOKEN.slice(0, 8));
    expect(excerpt).not.toMatch(/Bearer (?!\[redacted\])/);
    expect(excerpt).not.toContain("dXNlcjpwYXNz");
    expect(excerpt).toContain("ERROR");
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it("a token cut in half by the read bound is not shown in part, wherever the bound falls", async () => {
    // The error body is read up to a bound; the token is placed after a run of line breaks, which the excerpt
    // folds into one space, so that half of it would otherwise open the excerpt. Every offset around the bound.
    let body = "";
    service.handler = (_req, res) => res.writeHead(503).end(body);
    for (let at = MAX_EXCERPT_CHARS * 3; at < MAX_EXCERPT_CHARS * 4 + 12 * TOKEN.length + 50; at += 7) {
      body = "\n".repeat(at) + TOKEN + "\n".repeat(100);
      const result = await call({ token: TOKEN });
      expect(result.kind).toBe("status");
      expect(excerptOf(result)).not.toContain(TOKEN.slice(0, 4));
    }
  });

  it.each([
    [
      "JSON-escaped, a slash as \\/",
      (token: string) => JSON.stringify({ echo: token }).replace(/\//g, "\\/"),
    ],
    [
      "unicode-escaped",
      (token: string) =>
        Array.from(token, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
    ],
    ["URL-encoded", (token: string) => `token=${encodeURIComponent(token)}`],
    ["URL-encoded in lower case", (token: string) => `token=${encodeURIComponent(token).toLowerCase()}`],
    ["form-encoded", (token: string) => new URLSearchParams({ token }).toString()],
  ])("the token echoed %s is cut out", async (_what, echo) => {
    const token = "tok/9f8e+7d6c=5b4a 3928\\x"; // the characters that have other forms
    service.handler = (_req, res) => res.writeHead(401).end(`you sent ${echo(token)} here`);
    const result = await call({ token });
    expect(result.kind).toBe("status");
    expect(excerptOf(result)).toMatch(/^you sent .*\[redacted\].* here$/);
    expect(excerptOf(result)).not.toMatch(/9f8e|5b4a|3928/);
  });

  it("a 2xx that echoes the token, in any form, answers a value without it", async () => {
    const token = "tok/2xx+echo=77";
    service.handler = (_req, res) =>
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(
          `{"note":"you sent ${token}","escaped":"${token.replace(/\//g, "\\/")}",` +
            `"encoded":"${encodeURIComponent(token)}","id":"ch-1"}`,
        );
    const result = await call({ token, answer: z.object({ note: z.string(), id: z.string() }) });
    expect(result).toMatchObject({ kind: "answered", value: { note: "you sent [redacted]", id: "ch-1" } });
    const untyped = await call({ token });
    expect(untyped).toMatchObject({
      kind: "answered",
      value: { note: "you sent [redacted]", escaped: "[redacted]", encoded: "[redacted]", id: "ch-1" },
    });
  });

  it("a refusal's parsed body has the token cut out too", async () => {
    service.handler = (_req, res) => json(res, 403, { error: "forbidden", token: TOKEN });
    const result = await call({ token: TOKEN });
    expect(result).toMatchObject({
      kind: "status",
      status: 403,
      body: { error: "forbidden", token: "[redacted]" },
    });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it("a bearer token that is not ours is redacted too, in the body of a status", async () => {
    service.handler = (_req, res) => json(res, 401, { error: "invalid", sent: "Bearer abc.def-ghi" });
    const result = await call({ token: TOKEN });
    expect(excerptOf(result)).toContain("Bearer [redacted]");
    expect(excerptOf(result)).not.toContain("abc.def-ghi");
  });

  it("a label hides the URL: the call is named by it, and the URL echoed back is cut out", async () => {
    const secretPath = "hooks/T000/B000/XXXXsecretXXXX";
    service.handler = (req, res) =>
      res.writeHead(404).end(`no hook at ${service.base}${req.url}\nsee ${service.base}/${secretPath}`);
    const result = await call({
      baseUrl: `${service.base}/${secretPath}`,
      path: "",
      label: "POST the approval chat webhook",
    });
    expect(result).toMatchObject({ kind: "status", status: 404, call: "POST the approval chat webhook" });
    expect(JSON.stringify(result)).not.toContain("XXXXsecretXXXX");
    expect(excerptOf(result)).toContain("[url]");
  });

  it("a label hides the URL echoed JSON-escaped or URL-encoded, too", async () => {
    const hook = `${service.base}/hooks/T000/XXXXsecretXXXX`;
    service.handler = (_req, res) =>
      res.writeHead(410).end(`{"url":"${hook.replace(/\//g, "\\/")}"} ref=${encodeURIComponent(hook)}`);
    const result = await call({ baseUrl: hook, path: "", label: "the webhook" });
    expect(excerptOf(result)).toBe('{"url":"[url]"} ref=[url]');
  });

  it("a label hides the URL when nothing answers, too", async () => {
    const port = await closedPort();
    const result = await call({
      baseUrl: `http://127.0.0.1:${port}/hooks/XXXXsecretXXXX`,
      path: "",
      label: "the webhook",
    });
    expect(result).toMatchObject({ kind: "not-sent", call: "the webhook" });
    expect(JSON.stringify(result)).not.toContain("XXXXsecretXXXX");
  });

  describe("safeExcerpt", () => {
    it("bounds the text and says how much was cut", () => {
      const excerpt = safeExcerpt("a".repeat(1000));
      expect(excerpt).toBe(`${"a".repeat(MAX_EXCERPT_CHARS)}… (700 more characters)`);
    });

    it("puts it on one line, control characters and line separators folded into spaces", () => {
      expect(safeExcerpt("one\r\ntwo\u0000\u001b[31mthree\u2028four\u0085five")).toBe(
        "one two [31mthree four five",
      );
    });

    it("cuts out the token, and any bearer or basic credential", () => {
      expect(safeExcerpt(`x ${TOKEN} y`, TOKEN)).toBe("x [redacted] y");
      expect(safeExcerpt("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig_-")).toBe(
        "Authorization: Bearer [redacted]",
      );
      expect(safeExcerpt("authorization=basic%20dXNlcjpwYXNz")).toBe("authorization=basic [redacted]");
      expect(safeExcerpt(`Bearer ${TOKEN}`, TOKEN)).toBe("Bearer [redacted]");
    });

    it("leaves text without secrets as it was", () => {
      expect(safeExcerpt('{"error":"declined"}')).toBe('{"error":"declined"}');
    });
  });
});
