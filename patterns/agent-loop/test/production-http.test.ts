import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
  type TestResult,
} from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import {
  approvalRequestKey,
  configFromEnv,
  createHandler,
  createRealDeps,
  defaultConfig,
  HttpSettingError,
  retryTransientServiceErrors,
  SecretSettingError,
  TransientServiceError,
  type AgentResult,
  type HttpDepsConfig,
} from "../src";
import { sampleOrders, sampleRequest, supportModel } from "../src/demo";
import {
  expectSafeLine,
  hostileErrorBody,
  recordingServer,
  type Answer,
  type Received,
  type RecordingServer,
} from "./recording-server";
import { describeLocal } from "./target";

// The real back-office client against a real server on 127.0.0.1 that records what reached it: every path
// keeps the base URL's own path, a provider's error text reaches errors and alerts only as one bounded line
// without the token, and the token comes from Secrets Manager (mocked at the SDK client, every GetSecretValue
// counted, Powertools Parameters in between as deployed). The model is the demo's scripted one, so these run
// locally only (reported as skipped in the cloud).
const secretsManager = mockClient(SecretsManagerClient);
const TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:agent-loop/back-office-token-AbCdEf";
const OTHER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:agent-loop/moved-XyZxYz";
const TOKEN = "tok-back-office-9e2b7c4d";
const order = sampleOrders[0]!;
let server: RecordingServer;

/** The back office's happy answers, by route, under any base path. */
const backOffice: Answer = ({ method, path }) => {
  const route = `${method} ${path.replace(/^\/support\/api/, "")}`;
  const answers: Record<string, [number, unknown]> = {
    "GET /orders/order-1042": [200, order],
    "GET /orders/order-1042/refunds": [200, { refunds: [] }],
    "POST /refund-policy": [200, { eligible: true, maxRefundCents: 2500, explanation: "Damaged: in full." }],
    "POST /approvals": [202, undefined],
    "POST /refunds": [201, { refundId: "re-77" }],
    "POST /alerts": [202, undefined],
  };
  const [status, body] = answers[route] ?? [404, undefined];
  return { status, body: body === undefined ? "" : JSON.stringify(body) };
};
const answering =
  (special: (request: Received) => ReturnType<Answer>): Answer =>
  (request) =>
    special(request) ?? backOffice(request);

const accessDenied = (message: string) =>
  new SecretsManagerServiceException({
    name: "AccessDeniedException",
    $fault: "client",
    $metadata: {},
    message,
  });
/** What Secrets Manager answers for each secret, read after read (the last answer repeating). */
let secretAnswers: Record<string, Array<string | Error>>;
const reads = (arn: string) =>
  secretsManager.commandCalls(GetSecretValueCommand).filter((call) => call.args[0].input.SecretId === arn)
    .length;
/** The deployed function's environment. */
const env: Record<string, string | undefined> = {};
const deployed = () => ({
  BACK_OFFICE_URL: `${server.base}/support/api`,
  BACK_OFFICE_TOKEN_SECRET_ARN: TOKEN_ARN,
});

beforeAll(async () => {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  server = await recordingServer();
});
afterAll(async () => {
  secretsManager.restore();
  await server.close();
  await LocalDurableTestRunner.teardownTestEnvironment();
});
beforeEach(() => {
  secretsManager.reset();
  clearCaches();
  server.received.length = 0;
  server.answerWith(backOffice);
  for (const key of Object.keys(env)) delete env[key];
  Object.assign(env, deployed());
  secretAnswers = { [TOKEN_ARN]: [TOKEN] };
  const served = new Map<string, number>();
  secretsManager.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    const own = secretAnswers[SecretId] ?? [
      new ResourceNotFoundException({ message: "no such secret", $metadata: {} }),
    ];
    const read = served.get(SecretId) ?? 0;
    served.set(SecretId, read + 1);
    const answer = own[Math.min(read, own.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return { SecretString: answer };
  });
});

const config = { ...defaultConfig, approvalTimeout: { seconds: 30 }, refundApprover: "dana" };

/** The agent on the real back-office client, configured as deployed (configFromEnv); dana approves if asked. */
async function converse(): Promise<TestResult<AgentResult>> {
  const deps = { ...createRealDeps(() => configFromEnv(env)), model: supportModel() };
  const runner = new LocalDurableTestRunner<AgentResult>({ handlerFunction: createHandler(deps, config) });
  const running = runner.run({ payload: sampleRequest });
  const asked = runner
    .getOperation("request-approval-order-1042")
    .waitForData(WaitingOperationStatus.COMPLETED)
    .then(() => "asked" as const);
  if ((await Promise.race([running.then(() => "ended" as const), asked])) === "asked") {
    await runner
      .getOperation("approve-refund-order-1042")
      .sendCallbackSuccess(JSON.stringify({ approved: true, approver: "dana" }));
  }
  return running;
}
const failure = (execution: TestResult<AgentResult>) => {
  expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
  return `${execution.getError().errorType}: ${execution.getError().errorMessage}`;
};
const routes = () => server.received.map(({ method, path }) => `${method} ${path}`);

describeLocal("every path keeps the base URL's path", () => {
  it.each([
    ["without a trailing slash", ""],
    ["with a trailing slash", "/"],
  ])("BACK_OFFICE_URL %s", async (_label, slash) => {
    const deps = createRealDeps((): HttpDepsConfig => ({
      backOfficeUrl: `${server.base}/support/api${slash}`,
      apiToken: async () => TOKEN,
    }));
    await deps.orders.find("order-1042");
    await deps.orders.refundsPaid("order-1042");
    await deps.refundPolicy.evaluate({ order, reason: "damaged" });
    const refund = { orderId: "order-1042", amountCents: 2500, currency: "EUR", reason: "damaged" as const };
    await deps.payments.refund({ ...refund, idempotencyKey: "order-1042:refund-1" });
    const approval = {
      callbackId: "cb-1",
      approver: "dana",
      customerId: "cust-7",
      ...refund,
      policy: { eligible: true as const, maxRefundCents: 2500, explanation: "ok" },
      priorRefunds: { totalCents: 0, refunds: [], remainingAfterCents: 0 },
      customerWrote: "Cracked.",
      writtenByModel: { noteForApprover: "Damaged." },
    };
    await deps.approvals.requestApproval(approval);
    await deps.alerts.refundInDoubt({
      ...refund,
      idempotencyKey: "order-1042:refund-1",
      problem: "in doubt",
    });

    expect(routes()).toEqual([
      "GET /support/api/orders/order-1042",
      "GET /support/api/orders/order-1042/refunds",
      "POST /support/api/refund-policy",
      "POST /support/api/refunds",
      "POST /support/api/approvals",
      "POST /support/api/alerts",
    ]);
    expect(server.received.map((r) => r.headers.authorization)).toEqual(
      server.received.map(() => `Bearer ${TOKEN}`),
    );
    expect(server.received.map((r) => r.headers["idempotency-key"])).toEqual([
      undefined,
      undefined,
      undefined,
      "order-1042:refund-1",
      approvalRequestKey("cb-1"),
      "alert-order-1042:refund-1",
    ]);
  });

  it("an order id is one encoded path segment, under the base", async () => {
    const deps = createRealDeps(() => ({ backOfficeUrl: `${server.base}/support/api` }));
    await deps.orders.find("order-1042/../../admin");
    expect(routes()).toEqual(["GET /support/api/orders/order-1042%2F..%2F..%2Fadmin"]);
  });

  it("a redirect is never followed: not retried, the token goes nowhere else", async () => {
    server.answerWith(
      answering(({ path }) => (path.endsWith("/refund-policy") ? { status: 307, body: "" } : undefined)),
    );
    const deps = createRealDeps(() => ({
      backOfficeUrl: `${server.base}/support/api`,
      apiToken: async () => TOKEN,
    }));
    const error = await deps.refundPolicy
      .evaluate({ order, reason: "damaged" })
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(/\/support\/api\/refund-policy answered 307$/);
    expect(error).not.toBeInstanceOf(TransientServiceError);
    expect(routes()).toEqual(["POST /support/api/refund-policy"]);
  });
});

describeLocal("a 1 MB error body with new lines, ANSI escapes and the token echoed back", () => {
  const hostile = hostileErrorBody(TOKEN);

  it("reaches a step's error as one bounded line without the token (the tool fails, the run goes on)", async () => {
    server.answerWith(
      answering(({ method }) => (method === "GET" ? { status: 400, body: hostile } : undefined)),
    );
    const deps = { ...createRealDeps(() => configFromEnv(env)), model: supportModel() };
    const runner = new LocalDurableTestRunner<AgentResult>({ handlerFunction: createHandler(deps, config) });
    const execution = await runner.run({ payload: sampleRequest });
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const stepError = runner.getOperation("tool-lookup-order-turn-1").getStepDetails()?.error;
    expect(stepError?.errorMessage).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/support\/api\/orders\/order-1042 answered 400$/,
    );
    expectSafeLine(JSON.stringify(stepError), TOKEN);
    expect(JSON.stringify(execution.getResult())).not.toContain(TOKEN);
  });

  it("reaches the refund-in-doubt alert, and the execution's error when the alert fails too, as one bounded line", async () => {
    // The payment answers 502 with the hostile body, every time; so does the alert.
    server.answerWith(
      answering(({ path }) =>
        path.endsWith("/refunds") && !path.includes("/orders/") ? { status: 502, body: hostile } : undefined,
      ),
    );
    const inDoubt = await converse();
    expect(inDoubt.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(inDoubt.getResult()?.refundInDoubt).toMatchObject({ idempotencyKey: "order-1042:refund-1" });
    const alert = server.received.find((r) => r.path.endsWith("/alerts"))!;
    const { problem } = JSON.parse(alert.body) as { problem: string };
    expect(problem).toContain("answered 502");
    expectSafeLine(problem, TOKEN, 600);

    server.received.length = 0;
    server.answerWith(
      answering(({ path }) =>
        (path.endsWith("/refunds") && !path.includes("/orders/")) || path.endsWith("/alerts")
          ? { status: 500, body: hostile }
          : undefined,
      ),
    );
    const error = failure(await converse());
    expect(error).toMatch(
      /^RefundInDoubtError: The approved refund order-1042:refund-1 \(2500 EUR\) is in doubt/,
    );
    expectSafeLine(error, TOKEN);
  });
});

describeLocal("BACK_OFFICE_TOKEN comes from Secrets Manager", () => {
  it("the token from the secret reaches every back-office call, read once for the whole conversation", async () => {
    const execution = await converse();
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(routes()).toContain("POST /support/api/refunds");
    expect(server.received.map((r) => r.headers.authorization)).toEqual(
      server.received.map(() => `Bearer ${TOKEN}`),
    );
    expect(server.received.length).toBeGreaterThan(5);
    expect(reads(TOKEN_ARN)).toBe(1);
  });

  it("keeps the value within SECRET_MAX_AGE_SECONDS: two calls, one GetSecretValue", async () => {
    const deps = createRealDeps(() => configFromEnv(env));
    await deps.orders.find("order-1042");
    await deps.orders.find("order-1042");
    expect(reads(TOKEN_ARN)).toBe(1);
    expect(server.received).toHaveLength(2);
  });

  it.each([
    ["missing", new ResourceNotFoundException({ message: "Secrets Manager can't find it", $metadata: {} })],
    ["unreadable", accessDenied("not authorized to GetSecretValue")],
  ])(
    "a secret that is %s fails the run before the back office is called, naming the setting, not retried",
    async (_label, error) => {
      secretAnswers[TOKEN_ARN] = [error];
      const message = failure(await converse());
      expect(message).toMatch(
        new RegExp(
          `^SecretSettingError: BACK_OFFICE_TOKEN could not be read from the secret in BACK_OFFICE_TOKEN_SECRET_ARN \\(${error.name}: `,
        ),
      );
      expect(server.received).toEqual([]);
      expect(reads(TOKEN_ARN)).toBe(1);
    },
  );

  it("refuses BACK_OFFICE_TOKEN in the plain environment, and reads no secret instead", async () => {
    env.BACK_OFFICE_TOKEN = TOKEN;
    const message = failure(await converse());
    expect(message).toContain("SecretSettingError: BACK_OFFICE_TOKEN is set in the plain environment");
    expect(message).not.toContain(TOKEN);
    expect(server.received).toEqual([]);
    expect(reads(TOKEN_ARN)).toBe(0);
  });

  it("a BACK_OFFICE_URL with credentials in it fails the run before anything is sent, naming it, not the URL", async () => {
    env.BACK_OFFICE_URL = `http://support:hunter2@127.0.0.1:1/api`;
    const message = failure(await converse());
    expect(message).toBe(
      "HttpSettingError: BACK_OFFICE_URL: the service's base URL must not contain credentials (user:password@)",
    );
  });

  it("sends no token when none is configured, or the secret still holds the stack's placeholder", async () => {
    delete env.BACK_OFFICE_TOKEN_SECRET_ARN;
    await createRealDeps(() => configFromEnv(env)).orders.find("order-1042");
    env.BACK_OFFICE_TOKEN_SECRET_ARN = TOKEN_ARN;
    secretAnswers[TOKEN_ARN] = ["set-me: put the real value of this setting here"];
    await createRealDeps(() => configFromEnv(env)).orders.find("order-1042");
    expect(server.received.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });

  it("retries a read Secrets Manager throttled, as an outage: nothing was sent", async () => {
    secretAnswers[TOKEN_ARN] = [
      new SecretsManagerServiceException({
        name: "ThrottlingException",
        $fault: "client",
        $metadata: {},
        message: "Rate exceeded",
      }),
      TOKEN,
    ];
    const execution = await converse();
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(reads(TOKEN_ARN)).toBe(2);
    expect(routes().filter((route) => route.endsWith("/refunds") && route.startsWith("POST"))).toHaveLength(
      1,
    );
  });

  it("the retry policy never retries a setting error", () => {
    const notReadable = new SecretSettingError("BACK_OFFICE_TOKEN could not be read", "BACK_OFFICE_TOKEN");
    expect(retryTransientServiceErrors(notReadable, 1).shouldRetry).toBe(false);
    expect(
      retryTransientServiceErrors(new HttpSettingError("BACK_OFFICE_URL is not set"), 1).shouldRetry,
    ).toBe(false);
    expect(retryTransientServiceErrors(new TransientServiceError("503"), 1).shouldRetry).toBe(true);
  });
});

describeLocal("a secret that cannot be read before the payment", () => {
  it("on its first attempt: not done, nothing paid, no alert, and the run fails naming the setting and the refund", async () => {
    // After the approval request, a redeploy points the setting at a secret the role may not read.
    secretAnswers[OTHER_ARN] = [accessDenied("not authorized")];
    server.answerWith(
      answering(({ path }) => {
        if (path.endsWith("/approvals")) env.BACK_OFFICE_TOKEN_SECRET_ARN = OTHER_ARN;
        return undefined;
      }),
    );
    const message = failure(await converse());
    expect(message).toMatch(
      /^RefundNotSentError: The approved refund order-1042:refund-1 \(2500 EUR\) was not paid: nothing was sent to the payment provider \(BACK_OFFICE_TOKEN could not be read/,
    );
    expect(
      routes().filter((route) => route === "POST /support/api/refunds" || route.endsWith("/alerts")),
    ).toEqual([]);
    expect(reads(OTHER_ARN)).toBe(1);
  });

  it("after an attempt whose answer was lost: in doubt, people alerted (the alert fails too: the run fails loudly)", async () => {
    secretAnswers[OTHER_ARN] = [accessDenied("not authorized")];
    server.answerWith(
      answering(({ method, path }) => {
        if (method === "POST" && path === "/support/api/refunds") {
          env.BACK_OFFICE_TOKEN_SECRET_ARN = OTHER_ARN;
          return { status: 504, body: "" };
        }
        return undefined;
      }),
    );
    const message = failure(await converse());
    expect(message).toMatch(
      /^RefundInDoubtError: The approved refund order-1042:refund-1 \(2500 EUR\) is in doubt/,
    );
    expect(routes().filter((route) => route === "POST /support/api/refunds")).toHaveLength(1);
  });
});
