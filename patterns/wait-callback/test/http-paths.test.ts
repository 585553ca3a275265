import {
  ExecutionStatus,
  LocalDurableTestRunner,
  type TestResult,
} from "@aws/durable-execution-sdk-js-testing";
import {
  ClientError,
  createHandler,
  createHttpDeps,
  HttpSettingError,
  NotSentError,
  retryTransient,
  TransientServiceError,
  type DecisionRequest,
  type HttpDepsConfig,
  type PurchaseOutcome,
} from "../src";
import { samplePurchase } from "../src/demo";
import {
  expectSafeLine,
  happyServices,
  hostileErrorBody,
  recordingServer,
  type RecordingServer,
} from "./recording-server";
import { approve, managerHasLink, testConfig } from "./support";

// The real HTTP dependencies against a real server on 127.0.0.1 that records what it received: every path keeps
// the configured base URL's own path, and whatever a provider answers reaches an error, a checkpoint or a record
// only as one bounded line without the token.
const TOKEN = "tok-7f3a9c1e5b2d";
const WEBHOOK_PATH = "/hooks/T000/B000/KEY-OF-THE-WEBHOOK";
let server: RecordingServer;

beforeAll(async () => {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  server = await recordingServer();
});
afterAll(async () => {
  await server.close();
  await LocalDurableTestRunner.teardownTestEnvironment();
});
beforeEach(() => {
  server.received.length = 0;
  server.answerWith(happyServices);
});

const config =
  (overrides: Partial<HttpDepsConfig> = {}) =>
  (): HttpDepsConfig => ({
    chatWebhookUrl: async () => `${server.base}${WEBHOOK_PATH}`,
    approvalPageUrl: "https://approvals.example.com",
    purchasingUrl: `${server.base}/api/v2/purchasing`,
    supplierUrl: `${server.base}/inventory`,
    apiToken: async () => TOKEN,
    timeoutMs: 2_000,
    ...overrides,
  });

const ask: DecisionRequest = {
  kind: "approval",
  approver: samplePurchase.approvers.manager,
  callbackId: "cb-1",
  acceptsHeartbeat: true,
  request: samplePurchase,
  idempotencyKey: "PR-2042:notify-manager:abc",
};
const order = {
  requestId: "PR-2042",
  supplier: "acme-office",
  description: "Standing desk",
  quantity: 2,
  amountCents: 129_900,
  currency: "EUR",
  idempotencyKey: "PR-2042:place-order",
};

describe("every path the pattern calls keeps the base URL's path", () => {
  it.each([
    ["without a trailing slash", ""],
    ["with a trailing slash", "/"],
  ])("base URLs %s", async (_label, slash) => {
    const deps = createHttpDeps(
      config({
        purchasingUrl: `${server.base}/api/v2/purchasing${slash}`,
        supplierUrl: `${server.base}/inventory${slash}`,
      }),
    );
    await deps.purchasing.submit({ request: samplePurchase, idempotencyKey: "PR-2042:submit" });
    await deps.approvals.askForDecision(ask);
    await deps.purchasing.recordDecision({
      requestId: "PR-2042",
      reference: "PO-REQ-9",
      decision: "APPROVED",
      detail: "Approved by u-dana",
      idempotencyKey: "PR-2042:5f0c2a9be1d4:record-decision",
    });
    await deps.supplier.placeOrder(order);
    await deps.supplier.jobStatus({ jobId: "job-1" });

    expect(server.received.map(({ method, path }) => `${method} ${path}`)).toEqual([
      "POST /api/v2/purchasing/purchase-requests",
      `POST ${WEBHOOK_PATH}`,
      "POST /api/v2/purchasing/purchase-requests/PR-2042/decision",
      "POST /inventory/orders",
      "GET /inventory/orders/job-1",
    ]);
    const [submit, chat, decision, placed, status] = server.received;
    // The token goes to purchasing and the supplier only; each request carries its own idempotency key.
    for (const api of [submit, decision, placed, status])
      expect(api!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(chat!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(chat!.headers)).not.toContain(TOKEN);
    expect([submit, chat, decision, placed].map((r) => r!.headers["idempotency-key"])).toEqual([
      "PR-2042:submit",
      "PR-2042:notify-manager:abc",
      "PR-2042:5f0c2a9be1d4:record-decision",
      "PR-2042:place-order",
    ]);
    expect(status!.headers["idempotency-key"]).toBeUndefined();
    expect(placed!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(placed!.body)).toEqual({ ...order, idempotencyKey: undefined });
  });

  it("a path built from an id stays under the base: the id is one encoded segment, and '..' is no job id", async () => {
    const deps = createHttpDeps(config());
    await deps.supplier.jobStatus({ jobId: "job 1/../../api" }).catch(() => undefined);
    expect(server.received.map((r) => r.path)).toEqual(["/inventory/orders/job%201%2F..%2F..%2Fapi"]);

    // A job id is checkpointed and then goes into the status check's path: ".." would check `<supplier>/`.
    server.answerWith(() => ({ status: 201, body: '{"jobId":".."}' }));
    await expect(deps.supplier.placeOrder(order)).rejects.toThrow("jobId must not be . or ..");
  });

  it("a base URL with credentials in it is refused before anything is sent, naming the setting, not the URL", async () => {
    const deps = createHttpDeps(config({ supplierUrl: `http://user:hunter2@127.0.0.1:1/inventory` }));
    const error = await deps.supplier.placeOrder(order).catch((failed: unknown) => failed as Error);
    expect(error).toBeInstanceOf(HttpSettingError);
    expect((error as Error).message).toBe(
      "calling supplierUrl (SUPPLIER_API_URL): the service's base URL must not contain credentials (user:password@)",
    );
    expect(retryTransient(error as Error, 1).shouldRetry).toBe(false);
    expect(server.received).toEqual([]);
  });

  it("a token HTTP cannot carry (a new line in the secret) is refused before sending, not retried", async () => {
    const deps = createHttpDeps(config({ apiToken: async () => `${TOKEN}\nX-Forged: 1` }));
    const error = await deps.supplier.placeOrder(order).catch((failed: unknown) => failed as Error);
    expect(error).toBeInstanceOf(HttpSettingError);
    expect((error as Error).message).toBe(
      "calling supplierUrl (SUPPLIER_API_URL): the authorization header is not valid in HTTP",
    );
    expect(retryTransient(error as Error, 1).shouldRetry).toBe(false);
    expect(server.received).toEqual([]);
  });

  it("a connection that was never made is not sent (not done) and retried", async () => {
    const closed = await recordingServer();
    await closed.close();
    const deps = createHttpDeps(config({ supplierUrl: `${closed.base}/inventory` }));
    const error = await deps.supplier.placeOrder(order).catch((failed: unknown) => failed as Error);
    expect(error).toBeInstanceOf(NotSentError);
    expect(error).toBeInstanceOf(TransientServiceError);
    expect((error as Error).message).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/inventory\/orders failed: not sent \(ECONNREFUSED\)/,
    );
    expect(retryTransient(error as Error, 1).shouldRetry).toBe(true);
  });
});

describe("a 1 MB error body with new lines, ANSI escapes and the token echoed back", () => {
  const hostile = hostileErrorBody(TOKEN);

  it("is one bounded line without the token in a refusal, and not quoted at all in an outage", async () => {
    const deps = createHttpDeps(config());
    server.answerWith(() => ({ status: 422, body: hostile }));
    const refused = await deps.supplier.placeOrder(order).catch((failed: unknown) => failed as Error);
    expect(refused).toBeInstanceOf(ClientError);
    expectSafeLine((refused as Error).message, TOKEN);
    expect((refused as Error).message).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/inventory\/orders answered 422: error/,
    );
    expect((refused as Error).message).toContain("Bearer [redacted]");

    server.answerWith(() => ({ status: 503, body: hostile }));
    const outage = await deps.supplier.placeOrder(order).catch((failed: unknown) => failed as Error);
    expect(outage).toBeInstanceOf(TransientServiceError);
    expect((outage as Error).message).toMatch(/\/inventory\/orders answered 503$/);

    server.answerWith(({ path }) => (path.includes("/hooks/") ? { status: 400, body: hostile } : undefined));
    const chat = await deps.approvals.askForDecision(ask).catch((failed: unknown) => failed as Error);
    expect((chat as Error).message).toBe("chat webhook answered 400");
  });

  const run = async (answer: Parameters<RecordingServer["answerWith"]>[0]) => {
    server.answerWith(answer);
    const runner = new LocalDurableTestRunner<PurchaseOutcome>({
      handlerFunction: createHandler(createHttpDeps(config()), testConfig()),
    });
    const running = runner.run({ payload: samplePurchase });
    return { runner, running };
  };
  const approved = async (answer: Parameters<RecordingServer["answerWith"]>[0]) => {
    const { runner, running } = await run(answer);
    await managerHasLink(runner);
    await runner.getOperation("ask-manager").sendCallbackSuccess(approve("u-dana"));
    return { runner, execution: await running };
  };
  const failedWith = (execution: TestResult<PurchaseOutcome>) => {
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    return execution.getError();
  };

  it("reaches the step's error and the execution's error as one bounded line (submit refused)", async () => {
    const { runner, running } = await run(({ path }) =>
      path.endsWith("/purchase-requests") ? { status: 400, body: hostile } : undefined,
    );
    const error = failedWith(await running);
    expectSafeLine(`${error.errorType} ${error.errorMessage}`, TOKEN);
    expect(error.errorMessage).toContain("answered 400: error");
    const stepError = runner.getOperation("submit-request").getStepDetails()?.error;
    expect(stepError?.errorType).toBe("ClientError");
    expectSafeLine(JSON.stringify(stepError), TOKEN);
    // Refused for good: sent once, nobody asked.
    expect(server.received.map((r) => r.path)).toEqual(["/api/v2/purchasing/purchase-requests"]);
  });

  it("reaches purchasing's record and the OrderRefusedError as one bounded line (order refused)", async () => {
    const { runner, execution } = await approved((request) =>
      request.method === "POST" && request.path.endsWith("/orders")
        ? { status: 409, body: hostile }
        : happyServices(request),
    );
    const error = failedWith(execution);
    expect(error.errorType).toBe("OrderRefusedError");
    expectSafeLine(error.errorMessage ?? "", TOKEN, 500);
    expectSafeLine(JSON.stringify(runner.getOperation("place-order").getStepDetails()?.error), TOKEN);
    // Purchasing was told nothing was ordered, in one bounded line.
    const decisions = server.received.filter((r) => r.path.endsWith("/decision"));
    expect(decisions).toHaveLength(2);
    const { decision, detail } = JSON.parse(decisions[1]!.body) as { decision: string; detail: string };
    expect(decision).toBe("DECLINED");
    expect(detail).toMatch(/^Approved, but the supplier refused the order, so nothing was ordered: POST /);
    expectSafeLine(detail, TOKEN, 500);
  });

  it("reaches the FulfilmentNotFinishedError as one bounded line (every status check refused)", async () => {
    const { execution } = await approved((request) =>
      request.method === "GET" ? { status: 400, body: hostile } : happyServices(request),
    );
    const error = failedWith(execution);
    expect(error.errorType).toBe("FulfilmentNotFinishedError");
    expect(error.errorMessage).toContain("last state UNKNOWN: GET http");
    expectSafeLine(error.errorMessage ?? "", TOKEN, 600);
    expect(server.received.filter((r) => r.method === "GET")).toHaveLength(testConfig().polling.maxChecks);
  });
});
