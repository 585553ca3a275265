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
  type TestResult,
} from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import {
  checkedDeps,
  configFromEnv,
  createHandler,
  createHttpDeps,
  handler,
  HttpSettingError,
  NotSentError,
  retryTransient,
  SecretSettingError,
  type PurchaseDeps,
  type PurchaseOutcome,
} from "../src";
import { samplePurchase, simulatedWorld } from "../src/demo";
import { SECRET_PLACEHOLDER } from "../src/secret-setting";
import { happyServices, recordingServer, type RecordingServer } from "./recording-server";
import { approve, managerHasLink, testConfig } from "./support";

// The deployed handler's secrets: PURCHASING_API_TOKEN (optional) and APPROVAL_CHAT_WEBHOOK_URL (required: the
// webhook URL carries its key) come from Secrets Manager, mocked at the SDK client (every GetSecretValue is
// counted on the mock), through Powertools Parameters as in production; the services are a real server on
// 127.0.0.1 that records what reached it.
const secretsManager = mockClient(SecretsManagerClient);
const TOKEN_ARN =
  "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wait-callback/purchasing-token-AbCdEf";
const WEBHOOK_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:wait-callback/chat-webhook-GhIjKl";
const TOKEN = "tok-from-secrets-manager-41c9";
const WEBHOOK_PATH = "/hooks/T000/B000/KEY-IN-THE-SECRET";
let server: RecordingServer;

/** Secrets Manager's answer when the role may not read the secret (the SDK has no class of its own for it). */
const accessDenied = (message: string) =>
  new SecretsManagerServiceException({
    name: "AccessDeniedException",
    $fault: "client",
    $metadata: {},
    message,
  });

const SETTINGS = [
  "APPROVAL_PAGE_URL",
  "PURCHASING_API_URL",
  "SUPPLIER_API_URL",
  "PURCHASING_API_TOKEN",
  "PURCHASING_API_TOKEN_SECRET_ARN",
  "APPROVAL_CHAT_WEBHOOK_URL",
  "APPROVAL_CHAT_WEBHOOK_URL_SECRET_ARN",
];
/** The deployed function's environment: plain settings, and the secrets' ARNs. */
const deployedEnv = (): Record<string, string> => ({
  APPROVAL_PAGE_URL: "https://approvals.example.com",
  PURCHASING_API_URL: `${server.base}/purchasing`,
  SUPPLIER_API_URL: `${server.base}/supplier/`,
  PURCHASING_API_TOKEN_SECRET_ARN: TOKEN_ARN,
  APPROVAL_CHAT_WEBHOOK_URL_SECRET_ARN: WEBHOOK_ARN,
});
const setEnv = (values: Record<string, string>) => {
  for (const name of SETTINGS) delete process.env[name];
  Object.assign(process.env, values);
};
const reads = (arn: string) =>
  secretsManager.commandCalls(GetSecretValueCommand).filter((call) => call.args[0].input.SecretId === arn)
    .length;

beforeAll(async () => {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  server = await recordingServer();
});
afterAll(async () => {
  setEnv({});
  secretsManager.restore();
  await server.close();
  await LocalDurableTestRunner.teardownTestEnvironment();
});
/** What Secrets Manager answers for each secret, read after read (the last answer repeating). */
let answers: Record<string, Array<string | Error>>;
beforeEach(() => {
  secretsManager.reset();
  clearCaches();
  server.received.length = 0;
  server.answerWith(happyServices);
  answers = { [TOKEN_ARN]: [TOKEN], [WEBHOOK_ARN]: [`${server.base}${WEBHOOK_PATH}`] };
  const served = new Map<string, number>();
  secretsManager.on(GetSecretValueCommand).callsFake(({ SecretId }: { SecretId: string }) => {
    const own = answers[SecretId] ?? [
      new ResourceNotFoundException({ message: "no such secret", $metadata: {} }),
    ];
    const read = served.get(SecretId) ?? 0;
    served.set(SecretId, read + 1);
    const answer = own[Math.min(read, own.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return { SecretString: answer };
  });
  setEnv(deployedEnv());
});

/** Runs the deployed handler; Dana approves once her link has arrived, unless the run ends first. */
async function runDeployed(): Promise<TestResult<PurchaseOutcome>> {
  const runner = new LocalDurableTestRunner<PurchaseOutcome>({ handlerFunction: handler });
  const running = runner.run({ payload: samplePurchase });
  const linked = managerHasLink(runner).then(() => "asked" as const);
  if ((await Promise.race([running.then(() => "ended" as const), linked])) === "asked") {
    await runner.getOperation("ask-manager").sendCallbackSuccess(approve("u-dana"));
  }
  return running;
}
const failure = (execution: TestResult<PurchaseOutcome>) => {
  expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
  return `${execution.getError().errorType}: ${execution.getError().errorMessage}`;
};

describe("the deployed handler reads its secrets from Secrets Manager", () => {
  it("sends the token from the secret to purchasing and the supplier, and the message to the webhook URL in its secret", async () => {
    const execution = await runDeployed();
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(execution.getResult()).toMatchObject({ status: "SHIPPED", trackingNumber: "TRK-1" });

    expect(server.received.map(({ method, path }) => `${method} ${path}`)).toEqual([
      "POST /purchasing/purchase-requests",
      `POST ${WEBHOOK_PATH}`,
      "POST /purchasing/purchase-requests/PR-2042/decision",
      "POST /supplier/orders",
      "GET /supplier/orders/job-1",
    ]);
    const apiCalls = server.received.filter((r) => !r.path.startsWith("/hooks/"));
    expect(apiCalls.map((r) => r.headers.authorization)).toEqual(apiCalls.map(() => `Bearer ${TOKEN}`));
    const chat = server.received.find((r) => r.path === WEBHOOK_PATH)!;
    expect(chat.headers.authorization).toBeUndefined();
    expect((JSON.parse(chat.body) as { text: string }).text).toContain("Dana, please approve a purchase");
    // Kept per sandbox: the webhook URL read once (by submit's check, then reused by notify-manager); the
    // token, sent four times, once before the 4-hour lead time and at most once after it (the five minutes it is
    // kept may have passed on the test's clock, which earlier runs in this file have moved on).
    expect(reads(WEBHOOK_ARN)).toBe(1);
    expect(reads(TOKEN_ARN)).toBeGreaterThanOrEqual(1);
    expect(reads(TOKEN_ARN)).toBeLessThanOrEqual(2);
  });

  it("keeps a value for SECRET_MAX_AGE_SECONDS: two calls within it read the secret once", async () => {
    const deps = createHttpDeps(() => configFromEnv(deployedEnv()));
    const submit = () =>
      deps.purchasing.submit({ request: samplePurchase, idempotencyKey: "PR-2042:submit" });
    await submit();
    await submit();
    expect(reads(TOKEN_ARN)).toBe(1);
    expect(server.received.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
    ]);
  });

  it.each([
    ["missing", new ResourceNotFoundException({ message: "Secrets Manager can't find it", $metadata: {} })],
    ["unreadable", accessDenied("not authorized to GetSecretValue")],
  ])(
    "a token secret that is %s fails the workflow before anything is sent, naming the setting, not retried",
    async (_label, error) => {
      answers[TOKEN_ARN] = [error];
      const execution = await runDeployed();
      const message = failure(execution);
      expect(message).toContain(
        `PURCHASING_API_TOKEN could not be read from the secret in PURCHASING_API_TOKEN_SECRET_ARN (${error.name}: `,
      );
      expect(server.received).toEqual([]);
      expect(reads(TOKEN_ARN)).toBe(1);
    },
  );

  it("an unreadable webhook secret fails the workflow at submit, before the request is recorded anywhere", async () => {
    answers[WEBHOOK_ARN] = [accessDenied("not authorized")];
    const message = failure(await runDeployed());
    expect(message).toContain(
      "APPROVAL_CHAT_WEBHOOK_URL could not be read from the secret in APPROVAL_CHAT_WEBHOOK_URL_SECRET_ARN (AccessDeniedException: the function's role may not read it)",
    );
    expect(server.received).toEqual([]);
    expect(reads(WEBHOOK_ARN)).toBe(1);
  });

  it.each([
    ["PURCHASING_API_TOKEN", TOKEN],
    ["APPROVAL_CHAT_WEBHOOK_URL", "https://hooks.example.com/T0/B0/KEY"],
  ])("refuses %s set in the plain environment, and reads no secret instead", async (setting, value) => {
    setEnv({ ...deployedEnv(), [setting]: value });
    const message = failure(await runDeployed());
    expect(message).toContain(`${setting} is set in the plain environment`);
    expect(message).toContain(`set ${setting}_SECRET_ARN to the secret's ARN`);
    expect(message).not.toContain(value);
    expect(server.received).toEqual([]);
  });

  it("requires the webhook URL's secret, naming the variable to set", async () => {
    const { APPROVAL_CHAT_WEBHOOK_URL_SECRET_ARN: _unset, ...rest } = deployedEnv();
    setEnv(rest);
    expect(failure(await runDeployed())).toContain(
      "APPROVAL_CHAT_WEBHOOK_URL_SECRET_ARN is not set: it must name the secret holding APPROVAL_CHAT_WEBHOOK_URL",
    );
    expect(server.received).toEqual([]);
  });

  it("sends no token when none is configured, or when its secret still holds the stack's placeholder", async () => {
    const { PURCHASING_API_TOKEN_SECRET_ARN: _unset, ...withoutToken } = deployedEnv();
    await createHttpDeps(() => configFromEnv(withoutToken)).supplier.jobStatus({ jobId: "job-1" });
    answers[TOKEN_ARN] = [SECRET_PLACEHOLDER];
    await createHttpDeps(() => configFromEnv(deployedEnv())).supplier.jobStatus({ jobId: "job-1" });
    expect(server.received.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
    expect(reads(TOKEN_ARN)).toBe(1);
  });

  it("retries a read that Secrets Manager throttled, and sends once it is read", async () => {
    const throttled = new SecretsManagerServiceException({
      name: "ThrottlingException",
      $fault: "client",
      $metadata: {},
      message: "Rate exceeded",
    });
    answers[TOKEN_ARN] = [throttled, TOKEN];
    const execution = await runDeployed();
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    // submit-request's first attempt sent nothing; its retry read the token and sent the request once.
    expect(reads(TOKEN_ARN)).toBeGreaterThanOrEqual(2);
    expect(server.received.filter((r) => r.path.endsWith("/purchase-requests"))).toHaveLength(1);
  });

  it("a token secret that becomes unreadable while the job is polled stops the polling at once, naming it", async () => {
    // During the lead time, a redeploy points the setting at a secret the role may not read.
    const OTHER_ARN = `${TOKEN_ARN.slice(0, -6)}XyZxYz`;
    answers[OTHER_ARN] = [accessDenied("not authorized")];
    server.answerWith((request) => {
      if (request.path === "/supplier/orders") process.env.PURCHASING_API_TOKEN_SECRET_ARN = OTHER_ARN;
      return happyServices(request);
    });
    const message = failure(await runDeployed());
    expect(message).toMatch(
      /^FulfilmentNotFinishedError: Supplier job job-1 was not finished after 1 status checks/,
    );
    expect(message).toContain("PURCHASING_API_TOKEN could not be read");
    expect(message).toContain("checks stopped until a setting is fixed");
    // The order was placed; no status check reached the supplier.
    expect(server.received.filter((r) => r.path === "/supplier/orders")).toHaveLength(1);
    expect(server.received.filter((r) => r.method === "GET")).toEqual([]);
    expect(reads(OTHER_ARN)).toBe(1);
  });
});

describe("a setting that cannot be used is not done, and never retried", () => {
  const notReadable = () =>
    new SecretSettingError(
      "PURCHASING_API_TOKEN could not be read from the secret in PURCHASING_API_TOKEN_SECRET_ARN (AccessDeniedException: the function's role may not read it)",
      "PURCHASING_API_TOKEN",
    );

  it("the retry strategy stops at a SecretSettingError or HttpSettingError, and retries Secrets Manager's own outage", async () => {
    const throttled = new SecretSettingError("X could not be read (ThrottlingException)", "X", true);
    expect(retryTransient(notReadable(), 1).shouldRetry).toBe(false);
    expect(retryTransient(new HttpSettingError("the service's base URL is not set"), 1).shouldRetry).toBe(
      false,
    );
    expect(retryTransient(throttled, 1).shouldRetry).toBe(true);
    expect(retryTransient(new NotSentError("not sent (ECONNREFUSED)"), 1).shouldRetry).toBe(true);

    // Custom deps' errors pass through checkedDeps (bounded, callback ids taken out) keeping what retry reads.
    const failing = (error: Error): PurchaseDeps => ({
      ...simulatedWorld().deps,
      purchasing: { ...simulatedWorld().deps.purchasing, submit: () => Promise.reject(error) },
    });
    for (const [error, retried] of [
      [notReadable(), false],
      [throttled, true],
    ] as const) {
      const thrown = await checkedDeps(failing(error))
        .purchasing.submit({ request: samplePurchase, idempotencyKey: "k" })
        .catch((failed: unknown) => failed as Error);
      expect(thrown).toBeInstanceOf(SecretSettingError);
      expect(retryTransient(thrown as Error, 1).shouldRetry).toBe(retried);
    }
  });

  /** The simulated world, its supplier failing on the given calls of placeOrder (counted from 1). */
  const supplierFailing = (failOn: (call: number) => Error | undefined, lostFirstReply = false) => {
    const world = simulatedWorld(
      lostFirstReply ? { lostReplies: { "supplier.placeOrder": { times: 1 } } } : {},
    );
    let calls = 0;
    const deps: PurchaseDeps = {
      ...world.deps,
      supplier: {
        ...world.deps.supplier,
        placeOrder: (order) => {
          const error = failOn(++calls);
          return error ? Promise.reject(error) : world.deps.supplier.placeOrder(order);
        },
      },
    };
    return { world, deps, calls: () => calls };
  };
  const approvedRun = async (deps: PurchaseDeps) => {
    const runner = new LocalDurableTestRunner<PurchaseOutcome>({
      handlerFunction: createHandler(deps, testConfig()),
    });
    const running = runner.run({ payload: samplePurchase });
    await managerHasLink(runner);
    await runner.getOperation("ask-manager").sendCallbackSuccess(approve("u-dana"));
    return { runner, execution: await running };
  };

  it("a secret that cannot be read on the order's first attempt: nothing was ordered, and purchasing is told", async () => {
    const { world, deps, calls } = supplierFailing(() => notReadable());
    const { runner, execution } = await approvedRun(deps);
    expect(failure(execution)).toMatch(
      /^OrderNotSentError: Approved, but the order could not be sent, so nothing was ordered: PURCHASING_API_TOKEN could not be read/,
    );
    expect(calls()).toBe(1);
    expect(world.orders).toEqual([]);
    expect(world.decisions.map((d) => d.decision)).toEqual(["APPROVED", "DECLINED"]);
    expect(world.decisions[1]!.detail).toContain("the order could not be sent, so nothing was ordered");
    expect(runner.getOperation("place-order").getStepDetails()?.result).toEqual({
      notSent: expect.stringContaining("PURCHASING_API_TOKEN") as unknown,
    });
  });

  it("the same failure after an attempt whose reply was lost: in doubt (the supplier holds the order), not corrected", async () => {
    const { world, deps, calls } = supplierFailing((call) => (call === 2 ? notReadable() : undefined), true);
    const { execution } = await approvedRun(deps);
    const message = failure(execution);
    expect(message).toMatch(
      /^OrderInDoubtError: The order for PR-2042 is in doubt after every retry \(PURCHASING_API_TOKEN/,
    );
    expect(message).toContain("PR-2042:place-order");
    expect(calls()).toBe(2);
    expect(world.orders).toHaveLength(1);
    expect(world.decisions.map((d) => d.decision)).toEqual(["APPROVED"]);
  });
});
