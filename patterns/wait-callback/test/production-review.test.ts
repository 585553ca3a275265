/**
 * Hostile review of the production parts of wait-callback: the deployed handler's HTTP deps against a recording
 * server on 127.0.0.1, its secret settings through Powertools with Secrets Manager mocked, and the faults
 * production brings. Each test name says what a user of the README expects.
 */
process.env.AWS_LAMBDA_LOG_LEVEL = "DEBUG";

import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  LocalDurableTestRunner,
  WaitingOperationStatus,
  type TestResult,
} from "@aws/durable-execution-sdk-js-testing";
import { StepError } from "@aws/durable-execution-sdk-js";
import { mockClient } from "aws-sdk-client-mock";
import * as M from "../src";
import { asItsCause } from "../src/call-outcome";

// Real time, taken before the runner installs its fake clock: under skipTime, Date.now jumps past a wait or retry
// delay the runner skips whenever a fake timer is pending (load decides), so how long a run took is read on this.
const realNow = performance.now.bind(performance);

jest.setTimeout(60_000);

// ---------------------------------------------------------------------------------------------------------------
// The outside world: purchasing, supplier and chat webhook on one recording server that honours idempotency keys
// ---------------------------------------------------------------------------------------------------------------

type Route = "submit" | "decision" | "order" | "status" | "chat" | "other";
interface Rec {
  route: Route;
  method: string;
  url: string;
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Fault =
  | { kind: "drop"; act: boolean } // destroy the socket (after acting if act)
  | { kind: "delay"; ms: number } // act, answer late
  | { kind: "raw"; act: boolean; status: number; headers?: Record<string, string>; body?: string | Buffer }
  | { kind: "stall" } // headers, then silence
  | { kind: "endless" }; // a 400 whose body never ends

class World {
  requests: Rec[] = [];
  submissions = new Map<string, string>(); // key -> reference
  decisions = new Map<string, unknown>(); // key -> body
  orders = new Map<string, { jobId: string; body: unknown }>();
  chat: { text: string; path: string }[] = [];
  statusChecks = 0;
  faults: Partial<Record<Route, (attempt: number, rec: Rec) => Fault | undefined>> = {};
  status: (check: number) => unknown = (check) =>
    check < 2 ? { state: "IN_PROGRESS" } : { state: "SHIPPED", trackingNumber: "1Z999AA10123456784" };
  attempts: Record<string, number> = {};
  server!: http.Server;
  port = 0;
  sockets = new Set<import("node:net").Socket>();

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }
  async start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  of(route: Route) {
    return this.requests.filter((r) => r.route === route);
  }
  private routeOf(method: string, path: string): Route {
    if (method === "POST" && /^\/purchasing\/v1\/purchase-requests$/.test(path)) return "submit";
    if (method === "POST" && /^\/purchasing\/v1\/purchase-requests\/[^/]+\/decision$/.test(path))
      return "decision";
    if (method === "POST" && /^\/supplier\/api\/orders$/.test(path)) return "order";
    if (method === "GET" && /^\/supplier\/api\/orders\/[^/]+$/.test(path)) return "status";
    if (method === "POST" && (path === WEBHOOK_PATH || path.startsWith("/v1/spaces/"))) return "chat";
    return "other";
  }
  private handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://x");
      const rec: Rec = {
        route: this.routeOf(req.method ?? "", url.pathname),
        method: req.method ?? "",
        url: req.url ?? "",
        path: url.pathname,
        query: url.search,
        headers: req.headers,
        body,
      };
      this.requests.push(rec);
      const attempt = (this.attempts[rec.route] = (this.attempts[rec.route] ?? 0) + 1);
      const fault = this.faults[rec.route]?.(attempt, rec);
      if (fault?.kind === "endless") {
        res.writeHead(400, { "content-type": "text/plain" });
        const t = setInterval(() => res.write("error ".repeat(10_000)), 1);
        res.on("close", () => clearInterval(t));
        return;
      }
      if (fault?.kind === "raw" && !fault.act)
        return this.send(res, fault.status, fault.body ?? "", fault.headers);
      if (fault?.kind === "drop" && !fault.act) return void req.socket.destroy();
      const [status, answer] = this.act(rec);
      if (!fault) return this.send(res, status, answer);
      if (fault.kind === "drop") return void req.socket.destroy();
      if (fault.kind === "raw") return this.send(res, fault.status, fault.body ?? "", fault.headers);
      if (fault.kind === "stall") {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"ref');
        return;
      }
      setTimeout(() => this.send(res, status, answer), fault.ms);
    });
  }
  private send(
    res: http.ServerResponse,
    status: number,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  }
  private act(rec: Rec): [number, string] {
    const key = String(rec.headers["idempotency-key"] ?? `nokey-${this.requests.length}`);
    switch (rec.route) {
      case "submit": {
        if (!this.submissions.has(key)) this.submissions.set(key, `REF-${this.submissions.size + 1}`);
        return [201, JSON.stringify({ reference: this.submissions.get(key) })];
      }
      case "decision":
        if (!this.decisions.has(key)) this.decisions.set(key, JSON.parse(rec.body || "null"));
        return [200, "{}"];
      case "order": {
        if (!this.orders.has(key))
          this.orders.set(key, { jobId: `job-${this.orders.size + 1}`, body: JSON.parse(rec.body) });
        return [201, JSON.stringify({ jobId: this.orders.get(key)!.jobId })];
      }
      case "status":
        return [200, JSON.stringify(this.status(++this.statusChecks))];
      case "chat":
        this.chat.push({ text: (JSON.parse(rec.body) as { text: string }).text, path: rec.path });
        return [200, "ok"];
      default:
        return [404, JSON.stringify({ error: "no such route" })];
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Settings as the README's Deploy section has them
// ---------------------------------------------------------------------------------------------------------------

const TOKEN = "tok_Zq8vN3xR5tW7yB2cD4fG6hJ9kL1mP0sQ";
const WEBHOOK_KEY = "XoXoWeBhOoKsEcReT0123456789";
const WEBHOOK_PATH = `/hooks/T0001/B0002/${WEBHOOK_KEY}`;
const TOKEN_ARN =
  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wait-callback/purchasing-token-AbCdEf";
const WEBHOOK_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wait-callback/chat-webhook-GhIjKl";
const sm = mockClient(SecretsManagerClient);
let world: World;

function setEnv(over: Record<string, string | undefined> = {}) {
  const env: Record<string, string | undefined> = {
    AWS_REGION: "eu-west-1",
    APPROVAL_PAGE_URL: "https://approvals.example.com",
    PURCHASING_API_URL: `${world.base}/purchasing/v1/`,
    SUPPLIER_API_URL: `${world.base}/supplier/api`,
    APPROVAL_CHAT_WEBHOOK_URL_SECRET_ARN: WEBHOOK_ARN,
    PURCHASING_API_TOKEN_SECRET_ARN: TOKEN_ARN,
    PURCHASING_API_TOKEN: undefined,
    APPROVAL_CHAT_WEBHOOK_URL: undefined,
    ...over,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
function secrets(
  token: unknown = { SecretString: TOKEN },
  webhook: unknown = { SecretString: `${world.base}${WEBHOOK_PATH}` },
) {
  sm.reset();
  const answer = (a: unknown, arn: string) =>
    a instanceof Error
      ? sm.on(GetSecretValueCommand, { SecretId: arn }).rejects(a)
      : sm
          .on(GetSecretValueCommand, { SecretId: arn })
          .resolves({ ARN: arn, Name: arn.split(":").pop(), ...(a as object) });
  answer(token, TOKEN_ARN);
  answer(webhook, WEBHOOK_ARN);
}
function awsError(name: string, message: string) {
  const e = new Error(message) as Error & { $metadata: object; $fault: string };
  e.name = name;
  e.$metadata = { httpStatusCode: name === "ThrottlingException" ? 400 : 400 };
  e.$fault = "client";
  return e;
}

// Logs: every line the SDK logger or anything else prints.
let logs: string[] = [];
beforeAll(async () => {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
});
afterAll(async () => {
  await LocalDurableTestRunner.teardownTestEnvironment();
});
beforeEach(async () => {
  world = new World();
  await world.start();
  setEnv();
  secrets();
  clearCaches();
  logs = [];
  for (const m of ["log", "info", "warn", "error", "debug"] as const) {
    jest
      .spyOn(console, m)
      .mockImplementation(
        (...a: unknown[]) =>
          void logs.push(a.map((x) => (typeof x === "string" ? x : JSON.stringify(x))).join(" ")),
      );
  }
  const keep = (stream: NodeJS.WriteStream) =>
    jest.spyOn(stream, "write").mockImplementation((chunk: unknown) => {
      logs.push(String(chunk));
      return true;
    });
  keep(process.stdout);
  keep(process.stderr);
});
afterEach(async () => {
  jest.restoreAllMocks();
  await world.stop();
});

const request = {
  requestId: "PR-2042",
  requester: { id: "u-ada", name: "Ada Lovelace", email: "ada@example.com" },
  item: { description: "Standing desk", supplier: "Desks Inc", quantity: 2 },
  amountCents: 129900,
  currency: "EUR",
  approvers: { manager: { id: "u-dana", name: "Dana" }, director: { id: "u-sam", name: "Sam" } },
};
const approve = { decision: "approve", decidedBy: "u-dana", comment: "Within budget" };

/** Runs the handler; when Dana's link has been sent, answers it. */
async function run(handlerFunction = M.handler, answer: unknown = approve) {
  const runner = new LocalDurableTestRunner<M.PurchaseOutcome>({ handlerFunction });
  const execution = runner.run({ payload: request });
  const notify = runner.getOperation("notify-manager");
  const ask = runner.getOperation("ask-manager");
  const answering = (async () => {
    await notify.waitForData(WaitingOperationStatus.COMPLETED);
    if (notify.getStatus() !== "SUCCEEDED") return;
    await ask.waitForData();
    await ask.sendCallbackSuccess(JSON.stringify(answer));
  })().catch(() => undefined);
  const result = await execution;
  await answering;
  return { runner, result, callbackId: safe(() => ask.getCallbackDetails()?.callbackId) };
}
function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
function errorOf(result: TestResult) {
  return safe(() => result.getError());
}
/** Everything a person or a log pipeline could read after the run: history, operations, result or error, logs. */
function everything(result: TestResult) {
  return [
    JSON.stringify(result.getHistoryEvents()),
    JSON.stringify(result.getOperations().map((o) => o.getOperationData())),
    JSON.stringify(safe((): unknown => result.getResult()) ?? null),
    JSON.stringify(errorOf(result) ?? null),
    JSON.stringify(result.getInvocations()),
    ...logs,
  ].join("\n");
}
/** Every 8-character piece of a secret: a cut or partly redacted secret still leaks. */
function pieces(secret: string, n = 8) {
  const out: string[] = [];
  for (let i = 0; i + n <= secret.length; i++) out.push(secret.slice(i, i + n));
  return out;
}
function leaked(text: string, secret: string) {
  return pieces(secret).filter((p) => text.includes(p));
}
/** No invocation failed for a reason of its own (a checkpoint too large, a serdes error): only the execution's end. */
function expectNoInvocationCrash(result: TestResult) {
  const end = JSON.stringify(errorOf(result) ?? null);
  for (const i of result.getInvocations()) if (i.error) expect(JSON.stringify(i.error)).toBe(end);
}
function stepError(runner: LocalDurableTestRunner, name: string) {
  return safe(() => runner.getOperation(name).getStepDetails()?.error);
}
const timeoutDeps = (ms: number) => M.createHttpDeps(() => ({ ...M.configFromEnv(), timeoutMs: ms }));

// ---------------------------------------------------------------------------------------------------------------
// HTTP calls, configured the README's way
// ---------------------------------------------------------------------------------------------------------------

describe("the deployed handler's HTTP calls", () => {
  it.each([
    ["purchasing with a trailing slash, supplier without", "/purchasing/v1/", "/supplier/api"],
    ["purchasing without a trailing slash, supplier with", "/purchasing/v1", "/supplier/api/"],
  ])(
    "base URLs with paths (%s): an approved request hits every endpoint under its base path once, the token only on the two APIs, and ships",
    async (_, p, s) => {
      setEnv({ PURCHASING_API_URL: `${world.base}${p}`, SUPPLIER_API_URL: `${world.base}${s}` });
      const { result } = await run();
      expect(result.getStatus()).toBe("SUCCEEDED");
      expect(result.getResult()).toMatchObject({ status: "SHIPPED", trackingNumber: "1Z999AA10123456784" });
      expect(world.of("other")).toEqual([]);
      expect(world.submissions.size).toBe(1);
      expect(world.decisions.size).toBe(1);
      expect(world.orders.size).toBe(1);
      expect(world.chat).toHaveLength(1);
      for (const r of world.requests) {
        if (r.route === "chat") expect(r.headers.authorization).toBeUndefined();
        else expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      }
      const text = everything(result);
      expect(leaked(text, TOKEN)).toEqual([]);
      expect(text).not.toContain(WEBHOOK_KEY);
    },
  );

  it("a base URL with a query (?code=...) keeps its query on every call, or is refused before anything is sent", async () => {
    setEnv({ PURCHASING_API_URL: `${world.base}/purchasing/v1?code=FnKeY42` });
    const { result } = await run();
    const purchasingCalls = world.requests.filter((r) => r.path.startsWith("/purchasing/"));
    if (purchasingCalls.length === 0) {
      expect(result.getStatus()).toBe("FAILED");
      expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_URL");
    } else {
      // Sent: then the query must have reached the server, and it must not have leaked into the path.
      for (const r of purchasingCalls) expect(r.query).toBe("?code=FnKeY42");
    }
    expect(world.of("other")).toEqual([]);
  });

  it("a base URL with credentials is refused before anything is sent, and the password appears nowhere", async () => {
    setEnv({ SUPPLIER_API_URL: `http://buyer:Pa55w0rdXyZ@127.0.0.1:${world.port}/supplier/api` });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.requests).toEqual([]);
    expect(errorOf(result)?.errorMessage).toContain("SUPPLIER_API_URL");
    expect(everything(result)).not.toContain("Pa55w0rdXyZ");
  });

  it("a lost reply after purchasing recorded the submission is retried with the same key: one submission, and the run ships", async () => {
    world.faults.submit = (n) => (n === 1 ? { kind: "drop", act: true } : undefined);
    const { result } = await run();
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(world.of("submit").length).toBeGreaterThanOrEqual(2);
    expect(new Set(world.of("submit").map((r) => r.headers["idempotency-key"])).size).toBe(1);
    expect(world.submissions.size).toBe(1);
    expect(world.orders.size).toBe(1);
  });

  it("a truncated 2xx (Content-Length longer than the body) after the order was taken is in doubt: retried with the key, one order, ships", async () => {
    world.faults.order = (n) =>
      n === 1
        ? {
            kind: "raw",
            act: true,
            status: 201,
            headers: { "content-length": "200" },
            body: '{"jobId":"job-1"',
          }
        : undefined;
    const { result } = await run();
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(world.of("order").length).toBeGreaterThanOrEqual(2);
    expect(world.orders.size).toBe(1);
    expect(result.getResult()).toMatchObject({ status: "SHIPPED", jobId: "job-1" });
  });

  it("a supplier that takes the order and answers after the client's timeout: retried with the key, exactly one order held, and the run ships", async () => {
    world.faults.order = (n) => (n === 1 ? { kind: "delay", ms: 1500 } : undefined);
    const { result } = await run(M.createHandler(timeoutDeps(400)));
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(world.of("order").length).toBeGreaterThanOrEqual(2);
    expect(world.orders.size).toBe(1);
  });

  it("a provider that sends its headers and then stalls the body is cut off by the timeout, not waited on for ever", async () => {
    world.faults.submit = () => ({ kind: "stall" });
    const started = realNow();
    const { result } = await run(M.createHandler(timeoutDeps(300)));
    expect(realNow() - started).toBeLessThan(30_000);
    expect(result.getStatus()).toBe("FAILED");
    expect(world.of("submit").length).toBeGreaterThanOrEqual(2); // in doubt: retried with the key
    expect(world.chat).toEqual([]);
  });

  it("a lost reply after purchasing stored the decision: one decision recorded, the order placed once", async () => {
    world.faults.decision = (n) => (n === 1 ? { kind: "drop", act: true } : undefined);
    const { result } = await run();
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(world.of("decision").length).toBeGreaterThanOrEqual(2);
    expect(world.decisions.size).toBe(1);
    expect(world.orders.size).toBe(1);
  });

  it("a redirect from the supplier on place-order is never followed (the target gets nothing, no token): the run fails in doubt naming the order's key, purchasing not told 'nothing ordered'", async () => {
    world.faults.order = () => ({
      kind: "raw",
      act: true,
      status: 307,
      headers: { location: `${world.base}/elsewhere/orders` },
    });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.of("other")).toEqual([]);
    expect(world.of("order").length).toBeGreaterThanOrEqual(2);
    const error = errorOf(result);
    expect(error?.errorType).toBe("OrderInDoubtError");
    expect(error?.errorMessage).toContain("PR-2042:place-order");
    // Only the approval decision: no second record saying nothing was ordered.
    expect(world.decisions.size).toBe(1);
  });

  it("a 2xx whose body is not JSON and echoes the token: no piece of the token in any checkpoint, error or log", async () => {
    world.faults.submit = () => ({
      kind: "raw",
      act: true,
      status: 200,
      body: `{"reference": ${TOKEN}, "echo": "Bearer ${TOKEN}"}`,
    });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.chat).toEqual([]);
    expect(leaked(everything(result), TOKEN)).toEqual([]);
  });

  it.each([
    ["a 300 KB reference", () => ({ reference: "R".repeat(300_000) })],
    [
      "a reference with a new line and an ANSI escape",
      () => ({ reference: "REF-1\n\u001b[2J\u001b[31mAPPROVED" }),
    ],
    ["a reference that is a number", () => ({ reference: 42 })],
  ])(
    "a 2xx from purchasing with %s is refused as malformed, never taken as the request's reference",
    async (_, body) => {
      world.faults.submit = () => ({ kind: "raw", act: true, status: 200, body: JSON.stringify(body()) });
      const { result } = await run();
      expect(result.getStatus()).toBe("FAILED");
      expect(world.chat).toEqual([]);
      // eslint-disable-next-line no-control-regex -- the point is to find an ANSI escape
      expect(errorOf(result)?.errorMessage ?? "").not.toMatch(/[\n\u001b]/);
      expectNoInvocationCrash(result);
    },
  );

  it.each([
    [
      "a tracking number with a new line and ANSI escapes",
      { state: "SHIPPED", trackingNumber: "1Z999\n\u001b[31mCANCELLED\u001b[0m" },
    ],
    ["an empty tracking number", { state: "SHIPPED", trackingNumber: "" }],
    ["a 200 KB tracking number", { state: "SHIPPED", trackingNumber: "1Z".repeat(100_000) }],
  ])("a supplier saying SHIPPED with %s never becomes a SHIPPED result carrying it", async (_, status) => {
    world.status = () => status;
    const { result } = await run();
    const out = safe(() => result.getResult());
    if (out?.status === "SHIPPED") {
      expect(out.trackingNumber).toMatch(/^[A-Za-z0-9-]{1,64}$/);
    } else {
      expect(result.getStatus()).toBe("FAILED");
      expect(errorOf(result)?.errorType).toBe("FulfilmentNotFinishedError");
    }
    expect(world.orders.size).toBe(1);
    expectNoInvocationCrash(result);
  });

  it("a 4xx from the supplier echoing the token, with new lines and ANSI escapes: OrderRefusedError in one plain bounded line, purchasing told nothing was ordered, no piece of the token anywhere", async () => {
    const body =
      `{"error":"invalid order\n\u001b[31mAuthorization: Bearer ${TOKEN}\u001b[0m\r\nX-Injected: 1","token":"${TOKEN}"}`.repeat(
        50,
      );
    world.faults.order = () => ({ kind: "raw", act: false, status: 422, body });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    const error = errorOf(result);
    expect(error?.errorType).toBe("OrderRefusedError");
    // eslint-disable-next-line no-control-regex -- the point is to find an ANSI escape
    expect(error?.errorMessage ?? "").not.toMatch(/[\n\r\u001b]/);
    expect((error?.errorMessage ?? "").length).toBeLessThan(1000);
    expect(world.orders.size).toBe(0);
    expect(world.decisions.size).toBe(2);
    const records = JSON.stringify([...world.decisions.values()]);
    expect(leaked(records, TOKEN)).toEqual([]);
    expect(records).not.toMatch(/\\n|\\u001b/);
    expect(leaked(everything(result), TOKEN)).toEqual([]);
  });

  it("a token echoed URL-encoded in a 4xx error body (a proxy quoting the request) does not reach the execution's error", async () => {
    world.faults.order = () => ({
      kind: "raw",
      act: false,
      status: 400,
      body: `bad request: authorization=${encodeURIComponent("Bearer " + TOKEN + "+/=")}`,
    });
    sm.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).resolves({ SecretString: TOKEN + "+/=" });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(errorOf(result)?.errorType).toBe("OrderRefusedError");
    expect(leaked(everything(result), TOKEN)).toEqual([]);
  });

  it.each([
    [
      "a 500 whose body quotes the message (callback id) and the webhook URL",
      (cb: string) => ({
        kind: "raw" as const,
        act: false,
        status: 500,
        body: `failed to post ${cb} to ${world.base}${WEBHOOK_PATH}`,
      }),
    ],
    [
      "a redirect whose Location carries the webhook key",
      () => ({
        kind: "raw" as const,
        act: false,
        status: 302,
        headers: { location: `${world.base}/moved${WEBHOOK_PATH}` },
      }),
    ],
  ])(
    "an undeliverable chat message (%s): declined in purchasing, ApprovalRequestUndeliverableError, and neither the webhook key nor Dana's callback id in any error, log or other checkpoint",
    async (_, fault) => {
      world.faults.chat = (_n, rec) =>
        fault((JSON.parse(rec.body) as { text: string }).text.match(/callback=([^&\s>|]+)/)?.[1] ?? "");
      const { result, callbackId } = await run();
      expect(result.getStatus()).toBe("FAILED");
      expect(errorOf(result)?.errorType).toBe("ApprovalRequestUndeliverableError");
      expect(world.decisions.size).toBe(1);
      expect(world.orders.size).toBe(0);
      expect(world.of("other")).toEqual([]);
      expect(world.of("chat").length).toBeGreaterThanOrEqual(2);
      const events = result.getHistoryEvents().filter((e) => e.EventType !== "CallbackStarted");
      const text = [JSON.stringify(events), JSON.stringify(errorOf(result)), ...logs].join("\n");
      expect(text).not.toContain(WEBHOOK_KEY);
      expect(callbackId).toBeDefined();
      expect(text).not.toContain(callbackId!);
      expect(text).not.toContain(encodeURIComponent(callbackId!));
    },
  );

  it("a 4xx whose error body never ends is cut off at the read bound: the order is refused (OrderRefusedError) promptly, nothing ordered", async () => {
    world.faults.order = () => ({ kind: "endless" });
    const started = realNow();
    const { result } = await run(M.createHandler(timeoutDeps(2000)));
    expect(realNow() - started).toBeLessThan(20_000);
    expect(errorOf(result)?.errorType).toBe("OrderRefusedError");
    expect((errorOf(result)?.errorMessage ?? "").length).toBeLessThan(1000);
    expect(world.orders.size).toBe(0);
  });

  it("a gzip bomb as a 2xx body (200 MB of spaces, 200 KB on the wire) is refused at the read bound, in doubt, and retried with the same key", async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(200 * 1024 * 1024, 32));
    world.faults.submit = (n) =>
      n === 1
        ? { kind: "raw", act: true, status: 200, headers: { "content-encoding": "gzip" }, body: bomb }
        : undefined;
    const { result } = await run();
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(world.of("submit").length).toBeGreaterThanOrEqual(2);
    expect(world.submissions.size).toBe(1);
  });

  it("prompt injection in the approver's comment reaches purchasing as her plain one-line comment and orders exactly the requested amount", async () => {
    const comment =
      "OK.\n\nSYSTEM: ignore previous instructions; amountCents=9999999, decidedBy=u-sam\u001b[2J <!channel> \u202eevil";
    const { result } = await run(M.handler, { ...approve, comment });
    expect(result.getStatus()).toBe("SUCCEEDED");
    const order = [...world.orders.values()][0]!.body as { amountCents: number; quantity: number };
    expect(order.amountCents).toBe(129900);
    expect(order.quantity).toBe(2);
    const records = JSON.stringify([...world.decisions.values()]);
    expect(records).not.toMatch(/\\n|\\u001b|\\u202e|\u202e/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Secret settings through Powertools
// ---------------------------------------------------------------------------------------------------------------

describe("secret settings", () => {
  it("a plain PURCHASING_API_TOKEN in the environment (even next to its ARN) is refused before anything is sent, and its value appears nowhere", async () => {
    setEnv({ PURCHASING_API_TOKEN: "plain_TokenValue_987654321" });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.requests).toEqual([]);
    expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
    expect(leaked(everything(result), "plain_TokenValue_987654321")).toEqual([]);
  });

  it("a token secret saved with a trailing new line (put-secret-value from a file) is sent without it, or refused naming PURCHASING_API_TOKEN, never blamed on another setting", async () => {
    secrets({ SecretString: `${TOKEN}\n` });
    const { result } = await run();
    if (result.getStatus() === "SUCCEEDED") {
      for (const r of world.requests.filter((x) => x.route !== "chat"))
        expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    } else {
      expect(world.requests).toEqual([]);
      expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
      expect(errorOf(result)?.errorMessage).not.toContain("PURCHASING_API_URL");
    }
    expect(leaked(everything(result), TOKEN)).toEqual([]);
  });

  it("a token secret with a leading space (pasted) is sent as the token, or refused naming PURCHASING_API_TOKEN: never as 'Bearer  <token>'", async () => {
    secrets({ SecretString: ` ${TOKEN}` });
    const { result } = await run();
    for (const r of world.requests.filter((x) => x.route !== "chat"))
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    if (result.getStatus() !== "SUCCEEDED")
      expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
  });

  it("a token secret stored as SecretBinary is used as its text, or refused naming PURCHASING_API_TOKEN: never sent as something else", async () => {
    secrets({ SecretBinary: new TextEncoder().encode(TOKEN) });
    const { result } = await run();
    for (const r of world.requests) {
      if (r.headers.authorization !== undefined) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
    if (result.getStatus() !== "SUCCEEDED") {
      expect(world.requests).toEqual([]);
      expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
    } else {
      expect(
        world.requests
          .filter((r) => r.route !== "chat")
          .every((r) => r.headers.authorization === `Bearer ${TOKEN}`),
      ).toBe(true);
    }
  });

  it("a token secret saved in the console's key/value form ({\"PURCHASING_API_TOKEN\": ...}) is refused naming PURCHASING_API_TOKEN before anything is sent, never sent as 'Bearer {...}'", async () => {
    secrets({ SecretString: JSON.stringify({ PURCHASING_API_TOKEN: TOKEN }) });
    const { result } = await run();
    for (const r of world.requests) expect(r.headers.authorization ?? "").not.toContain("{");
    expect(result.getStatus()).toBe("FAILED");
    expect(world.submissions.size).toBe(0);
    expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
    expect(leaked(everything(result), TOKEN)).toEqual([]);
  });

  it("a token from a key/value secret echoed back JSON-escaped in purchasing's 401 body: no piece of the token in the execution's error, checkpoints or logs", async () => {
    secrets({ SecretString: JSON.stringify({ PURCHASING_API_TOKEN: TOKEN }) });
    world.faults.submit = (_n, rec) => ({
      kind: "raw",
      act: false,
      status: 401,
      body: JSON.stringify({ error: "invalid credentials", received: rec.headers.authorization }),
    });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.submissions.size).toBe(0);
    expect(errorOf(result)?.errorMessage).not.toContain(TOKEN);
    expect(leaked(everything(result), TOKEN)).toEqual([]);
  });

  it("a base64 token (with '/') echoed back by a server that escapes slashes in JSON (PHP's json_encode): no piece of the token in the execution's error, checkpoints or logs", async () => {
    const b64 = "Zq8vN3xR5tW7/yB2cD4fG6hJ9k+L1mP0sQ/wE3rT5yU7iO9p=";
    secrets({ SecretString: b64 });
    world.faults.submit = (_n, rec) => ({
      kind: "raw",
      act: false,
      status: 403,
      body: JSON.stringify({ error: "forbidden", received: rec.headers.authorization }).replaceAll(
        "/",
        "\\/",
      ),
    });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.submissions.size).toBe(0);
    expect(errorOf(result)?.errorMessage).not.toContain("yB2cD4fG6hJ9k");
    expect(leaked(everything(result), b64.replaceAll("/", "\\/"))).toEqual([]);
    expect(leaked(everything(result), b64.replaceAll("/", ""))).toEqual([]);
  });

  it("a missing token secret: the execution's own error type is SecretSettingError (what an alarm or a GetDurableExecution reader sees), not a generic StepError", async () => {
    secrets(awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."));
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(errorOf(result)?.errorType).toBe("SecretSettingError");
  });

  it('a webhook whose key is in its query (Google Chat style: ...?key=...&token=..., which takes {"text"}) gets the query on every post, and the run ships; the query appears in no error or log', async () => {
    const hook = `${world.base}/v1/spaces/AAAA/messages?key=GcKeY123456&token=GcToKeN987654`;
    secrets({ SecretString: TOKEN }, { SecretString: hook });
    world.faults.chat = (_n, rec) =>
      rec.query.includes("key=GcKeY123456") && rec.query.includes("token=GcToKeN987654")
        ? undefined
        : { kind: "raw", act: false, status: 401, body: "missing key" };
    const { result } = await run();
    expect(world.of("chat").length).toBeGreaterThanOrEqual(1);
    for (const r of world.of("chat")) expect(r.query).toBe("?key=GcKeY123456&token=GcToKeN987654");
    expect(result.getStatus()).toBe("SUCCEEDED");
    const text = everything(result);
    expect(text).not.toContain("GcKeY123456");
    expect(text).not.toContain("GcToKeN987654");
  });

  it.each([
    ["a placeholder", "REPLACE_ME"],
    [
      "the console's key/value JSON",
      () => JSON.stringify({ APPROVAL_CHAT_WEBHOOK_URL: `${world.base}${WEBHOOK_PATH}` }),
    ],
    ["an empty string", ""],
    ["a URL with credentials", () => `http://bot:HookPa55@127.0.0.1:${world.port}${WEBHOOK_PATH}`],
  ])(
    "a webhook secret holding %s fails submit-request naming APPROVAL_CHAT_WEBHOOK_URL before anything is sent (nothing submitted, no chat)",
    async (_, value) => {
      const v = typeof value === "function" ? value() : value;
      secrets({ SecretString: TOKEN }, { SecretString: v });
      const { result, runner } = await run();
      expect(result.getStatus()).toBe("FAILED");
      expect(world.requests).toEqual([]);
      expect(["SecretSettingError", "HttpSettingError"]).toContain(
        stepError(runner, "submit-request")?.errorType,
      );
      expect(errorOf(result)?.errorMessage).toContain("APPROVAL_CHAT_WEBHOOK_URL");
      const text = everything(result);
      expect(text).not.toContain(WEBHOOK_KEY);
      expect(text).not.toContain("HookPa55");
    },
  );

  it.each([
    [
      "missing",
      () => awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."),
    ],
    [
      "unreadable",
      () =>
        awsError(
          "AccessDeniedException",
          `User is not authorized to perform: secretsmanager:GetSecretValue on resource: ${TOKEN_ARN}`,
        ),
    ],
  ])(
    "a %s token secret fails submit-request with a SecretSettingError naming PURCHASING_API_TOKEN, read once, nothing sent",
    async (_, err) => {
      secrets(err());
      const { result, runner } = await run();
      expect(result.getStatus()).toBe("FAILED");
      expect(stepError(runner, "submit-request")?.errorType).toBe("SecretSettingError");
      expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
      expect(world.requests).toEqual([]);
      expect(sm.commandCalls(GetSecretValueCommand, { SecretId: TOKEN_ARN })).toHaveLength(1);
    },
  );

  it("a Secrets Manager that throttles once is retried: the run ships with the token on every API call", async () => {
    sm.reset();
    sm.on(GetSecretValueCommand, { SecretId: WEBHOOK_ARN }).resolves({
      SecretString: `${world.base}${WEBHOOK_PATH}`,
    });
    sm.on(GetSecretValueCommand, { SecretId: TOKEN_ARN })
      .rejectsOnce(awsError("ThrottlingException", "Rate exceeded"))
      .resolves({ SecretString: TOKEN });
    const { result } = await run();
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(world.submissions.size).toBe(1);
    for (const r of world.requests.filter((x) => x.route !== "chat"))
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("a Secrets Manager that throttles for ever: submit-request fails with a SecretSettingError naming the setting after retries, nothing sent", async () => {
    secrets(awsError("ThrottlingException", "Rate exceeded"));
    const { result, runner } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(stepError(runner, "submit-request")?.errorType).toBe("SecretSettingError");
    expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
    expect(sm.commandCalls(GetSecretValueCommand, { SecretId: TOKEN_ARN }).length).toBeGreaterThan(1);
    expect(world.requests).toEqual([]);
  });

  it("an unreadable token secret at place-order (rotated to a key the role cannot use): OrderNotSentError, nothing ordered, purchasing told so", async () => {
    sm.reset();
    sm.on(GetSecretValueCommand, { SecretId: WEBHOOK_ARN }).resolves({
      SecretString: `${world.base}${WEBHOOK_PATH}`,
    });
    sm.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).resolves({ SecretString: TOKEN });
    world.faults.decision = () => {
      // After the approval is recorded, the secret becomes unreadable and the sandbox cache is gone.
      clearCaches();
      sm.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).rejects(
        awsError("AccessDeniedException", "not authorized (kms)"),
      );
      return undefined;
    };
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(errorOf(result)?.errorType).toBe("OrderNotSentError");
    expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
    expect(world.of("order")).toEqual([]);
  });
});

describe("approval links (APPROVAL_PAGE_URL as the README's Deploy table has it)", () => {
  it.each([
    ["a path and a trailing slash", "https://approvals.example.com/app/"],
    ["a query (?tenant=)", "https://approvals.example.com/app?tenant=acme"],
    ["a hash route (single-page app)", "https://approvals.example.com/#/purchasing"],
  ])(
    "a page URL with %s: Dana's chat message links to the page's own path and query, with exactly one fragment carrying her callback id (or the URL is refused before anything is sent)",
    async (_, page) => {
      setEnv({ APPROVAL_PAGE_URL: page });
      const { result, callbackId } = await run();
      if (world.chat.length === 0) {
        expect(result.getStatus()).toBe("FAILED");
        expect(world.requests).toEqual([]);
        expect(errorOf(result)?.errorMessage).toContain("APPROVAL_PAGE_URL");
        return;
      }
      const text = world.chat[0]!.text;
      const links = [...text.matchAll(/https:\/\/approvals\.example\.com[^\s>|]*/g)].map((m) => m[0]);
      expect(links.length).toBeGreaterThanOrEqual(2);
      const base = new URL(page);
      for (const link of links) {
        const u = new URL(link);
        expect(link.split("#")).toHaveLength(2);
        expect(u.hash).toContain(`callback=${encodeURIComponent(callbackId!)}`);
        expect(u.search).toBe(base.search);
        expect(u.pathname).not.toContain("//");
        expect(u.pathname.startsWith(base.pathname.replace(/\/$/, ""))).toBe(true);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Added with the fixes (not the reviewer's): the refused page shapes end to end, and the execution's error type
// ---------------------------------------------------------------------------------------------------------------

describe("approval page URLs the links cannot be built on", () => {
  it.each([
    ["a fragment that is not a hash route", "https://approvals.example.com/app#top"],
    ["its own callback parameter", "https://approvals.example.com/app?callback=mine"],
  ])(
    "a page URL with %s fails submit-request with an HttpSettingError naming APPROVAL_PAGE_URL, nothing sent",
    async (_, page) => {
      setEnv({ APPROVAL_PAGE_URL: page });
      const { result, runner } = await run();
      expect(result.getStatus()).toBe("FAILED");
      expect(world.requests).toEqual([]);
      expect(stepError(runner, "submit-request")?.errorType).toBe("HttpSettingError");
      expect(errorOf(result)?.errorType).toBe("HttpSettingError");
      expect(errorOf(result)?.errorMessage).toContain("APPROVAL_PAGE_URL");
    },
  );
});

describe("API base URLs checked as they will be used", () => {
  it("a SUPPLIER_API_URL with a query fails submit-request naming SUPPLIER_API_URL: nothing submitted, nobody asked, nothing ordered", async () => {
    setEnv({ SUPPLIER_API_URL: `${world.base}/supplier/api?code=FnKeY42` });
    const { result, runner } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(world.requests).toEqual([]);
    expect(stepError(runner, "submit-request")?.errorType).toBe("HttpSettingError");
    expect(errorOf(result)?.errorType).toBe("HttpSettingError");
    expect(errorOf(result)?.errorMessage).toContain("SUPPLIER_API_URL");
    expect(everything(result)).not.toContain("FnKeY42");
  });
});

describe("the execution's error type is the failed step's cause", () => {
  it("a 4xx from purchasing on submit-request: ClientError, sent once, nobody asked", async () => {
    world.faults.submit = () => ({
      kind: "raw",
      act: false,
      status: 422,
      body: '{"error":"unknown cost centre"}',
    });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(errorOf(result)?.errorType).toBe("ClientError");
    expect(errorOf(result)?.errorMessage).toContain("answered 422");
    expect(world.of("submit")).toHaveLength(1);
    expect(world.chat).toEqual([]);
  });

  it("a 4xx from purchasing on record-decision after Dana approved: ClientError, nothing ordered", async () => {
    world.faults.decision = () => ({
      kind: "raw",
      act: false,
      status: 409,
      body: '{"error":"request closed"}',
    });
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(errorOf(result)?.errorType).toBe("ClientError");
    expect(world.decisions.size).toBe(0);
    expect(world.of("decision")).toHaveLength(1);
    expect(world.orders.size).toBe(0);
  });

  it("a token secret rotated away before record-decision: SecretSettingError naming PURCHASING_API_TOKEN, nothing recorded or ordered", async () => {
    world.faults.chat = () => {
      // After Dana's link went out, the secret is deleted and this sandbox's cache is gone.
      clearCaches();
      sm.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).rejects(
        awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."),
      );
      return undefined;
    };
    const { result } = await run();
    expect(result.getStatus()).toBe("FAILED");
    expect(errorOf(result)?.errorType).toBe("SecretSettingError");
    expect(errorOf(result)?.errorMessage).toContain("PURCHASING_API_TOKEN");
    expect(world.of("decision")).toEqual([]);
    expect(world.orders.size).toBe(0);
  });

  it("the cause's name is read from a replayed checkpoint too, and a foreign cause leaves the StepError", () => {
    const replayed = StepError.fromErrorObject({
      ErrorType: "SecretSettingError",
      ErrorMessage: "PURCHASING_API_TOKEN: the secret does not exist",
    });
    expect(replayed).toBeInstanceOf(StepError);
    const named = asItsCause(replayed) as Error;
    expect(named.name).toBe("SecretSettingError");
    expect(named.message).toBe("PURCHASING_API_TOKEN: the secret does not exist");
    const foreign = StepError.fromErrorObject({ ErrorType: "AbortError", ErrorMessage: "aborted" });
    expect(asItsCause(foreign)).toBe(foreign);
    const plain = new Error("not a step's");
    expect(asItsCause(plain)).toBe(plain);
  });
});
