import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { StepError } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import {
  ClientError,
  createHandler,
  createHttpDeps,
  HttpSettingError,
  outcomeOf,
  outcomeOfFailedStep,
  SecretSettingError,
  SettingError,
  TransientServiceError,
  type FulfilmentResult,
} from "../src";
import { sampleOrder } from "../src/demo";
import { chargeRetryStrategy, retryUnlessClientError, retryWithSameKey } from "../src/retry-policies";
import { every, HttpWorld } from "./http-world";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The deployed configuration end to end: the handler's default deps (configFromEnv) read the four base URLs from
// plain environment variables and ORDER_API_TOKEN from Secrets Manager (mocked at the SDK client, with Powertools
// in between as in production), inside the steps, and call test/http-world.ts, which records what it received.
const secretsManager = mockClient(SecretsManagerClient);
const TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:steps/order-api-token-AbCdEf";
const TOKEN = "order-api-token-from-secrets-manager";
const SETTINGS = [
  "INVENTORY_API_URL",
  "PAYMENTS_API_URL",
  "SHIPPING_API_URL",
  "NOTIFICATIONS_API_URL",
  "ORDER_API_TOKEN",
  "ORDER_API_TOKEN_SECRET_ARN",
];
const reads = () => secretsManager.commandCalls(GetSecretValueCommand);
const throttled = () =>
  new SecretsManagerServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: {},
    message: "slow down",
  });

let hw: HttpWorld;
const saved: Record<string, string | undefined> = {};
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(async () => {
  secretsManager.restore();
  await teardownTestEnvironment();
});
beforeEach(async () => {
  secretsManager.reset();
  clearCaches();
  hw = await new HttpWorld().start();
  for (const name of SETTINGS) saved[name] = process.env[name];
  Object.assign(process.env, hw.environment(), { ORDER_API_TOKEN_SECRET_ARN: TOKEN_ARN });
  delete process.env.ORDER_API_TOKEN;
});
afterEach(async () => {
  for (const name of SETTINGS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await hw.stop();
});

const order = { ...sampleOrder, orderId: "order-secret" };
let runner: LocalDurableTestRunner<FulfilmentResult>;
const runOrder = () => {
  // createHttpDeps() with no argument: the deployed handler's configuration, read from the environment.
  runner = new LocalDurableTestRunner<FulfilmentResult>({ handlerFunction: createHandler(createHttpDeps()) });
  return runner.run({ payload: order });
};

describeLocal("ORDER_API_TOKEN from Secrets Manager", () => {
  it("the token read from the secret reaches every service, read once until it is older than the cache keeps it", async () => {
    const callsAtRead: number[] = [];
    secretsManager.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).callsFake(() => {
      callsAtRead.push(hw.calls.length);
      return { SecretString: TOKEN };
    });
    const result = await runOrder();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(hw.charges).toHaveLength(1);
    expect(hw.shipments.size).toBe(1);
    // Reserve, look-up, charge, ship, tracking email, review request: each carried the secret's token.
    expect(hw.calls.map((call) => call.route)).toEqual(["reserve", "find", "charge", "ship", "send", "send"]);
    expect(hw.calls.map((call) => call.authorization)).toEqual(Array<string>(6).fill(`Bearer ${TOKEN}`));
    // Six calls in several steps, one GetSecretValue: the value is kept per sandbox for SECRET_MAX_AGE_SECONDS.
    // Five calls in four steps before the three-day wait share one GetSecretValue (the value is kept per sandbox
    // for SECRET_MAX_AGE_SECONDS); the review request after the wait finds it older than that and reads it again.
    expect(callsAtRead).toEqual([0, 5]);
    expect(reads().map((read) => read.args[0].input)).toEqual([
      { SecretId: TOKEN_ARN },
      { SecretId: TOKEN_ARN },
    ]);
    // The token is never checkpointed: it is in no step's result or error.
    expect(
      JSON.stringify(result.getOperations().map((operation) => operation.getOperationData())),
    ).not.toContain(TOKEN);
  });

  it("an optional token whose secret still holds the stack's placeholder is not sent", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: "set-me: put the real value of this setting here" });
    const result = await runOrder();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(hw.calls.map((call) => call.authorization)).toEqual(Array<string>(6).fill(""));
  });

  it("without ORDER_API_TOKEN_SECRET_ARN no token is sent and nothing is read", async () => {
    delete process.env.ORDER_API_TOKEN_SECRET_ARN;
    const result = await runOrder();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(hw.calls.map((call) => call.authorization)).toEqual(Array<string>(6).fill(""));
    expect(reads()).toHaveLength(0);
  });

  it.each<[string, Error, string]>([
    [
      "a missing secret (ResourceNotFoundException)",
      new ResourceNotFoundException({
        $metadata: {},
        message: "Secrets Manager can't find the specified secret.",
      }),
      "ResourceNotFoundException: no such secret, or it has no current value",
    ],
    [
      "an unreadable secret (AccessDeniedException)",
      new SecretsManagerServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        $metadata: {},
        message: "not authorized to perform: secretsmanager:GetSecretValue",
      }),
      "AccessDeniedException: the function's role may not read it",
    ],
  ])(
    "%s fails the order at once, naming the setting, before any service is called",
    async (_what, failure, reason) => {
      secretsManager.on(GetSecretValueCommand).rejects(failure);
      const result = await runOrder();
      // Changed: the settings are checked in check-settings now, before reserve-stock (it was reserve-stock that
      // failed, with the same reason): the message names that step and says nothing was sent.
      expect(result.getError()).toEqual({
        errorType: "OrderFailedError",
        errorMessage:
          `Order order-secret failed at check-settings: ORDER_API_TOKEN could not be read from the secret in ` +
          `ORDER_API_TOKEN_SECRET_ARN (${reason}). Nothing was sent: nothing was reserved or charged. Start the ` +
          `order again once the setting can be used.`,
        errorData: undefined,
        stackTrace: undefined,
      });
      expect(hw.calls).toEqual([]); // the services received nothing
      expect(hw.held()).toBe(0);
      expect(hw.charges).toEqual([]);
      // Not retried: one attempt of check-settings, one read (Powertools keeps no failure), no reserve-stock.
      expect(runner.getOperation("check-settings").getStepDetails()?.attempt).toBe(1);
      expect(reads()).toHaveLength(1);
    },
  );

  it("a plain ORDER_API_TOKEN in the environment is refused, never sent: the order fails before any call", async () => {
    process.env.ORDER_API_TOKEN = "plain-text-token";
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const result = await runOrder();
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain(
      "ORDER_API_TOKEN is set in the plain environment, where the template and GetFunctionConfiguration show it",
    );
    expect(result.getError().errorMessage).not.toContain("plain-text-token");
    expect(hw.calls).toEqual([]);
    expect(reads()).toHaveLength(0);
  });

  it("Secrets Manager throttling is not done and retried: the order completes, the token read on the retry", async () => {
    secretsManager.on(GetSecretValueCommand).rejectsOnce(throttled()).resolves({ SecretString: TOKEN });
    const result = await runOrder();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    // Changed: the first read is check-settings' now (it was reserve-stock's), so that step is the one retried.
    expect(runner.getOperation("check-settings").getStepDetails()?.attempt).toBe(2);
    expect(runner.getOperation("reserve-stock").getStepDetails()?.attempt).toBe(1);
    expect(reads()).toHaveLength(2);
    expect(hw.held()).toBe(1);
    expect(hw.calls.every((call) => call.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  // Changed: this URL was found by charge-payment, after the stock was held (and then released); check-settings now
  // finds it before anything is sent, so nothing is held at all.
  it("a payments URL with credentials in it: the order fails at check-settings, nothing reserved, the gateway never called", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    process.env.PAYMENTS_API_URL = `${hw.base.replace("http://", "http://merchant:pa55word@")}/pay`;
    const result = await runOrder();
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain(
      "failed at check-settings: PAYMENTS_API_URL (paymentsUrl): the service's base URL must not contain credentials",
    );
    expect(result.getError().errorMessage).toContain("Nothing was sent: nothing was reserved or charged.");
    expect(result.getError().errorMessage).not.toContain("pa55word");
    expect(hw.calls).toEqual([]);
    expect(hw.charges).toEqual([]);
    expect(hw.held()).toBe(0);
    expect(runner.getOperation("check-settings").getStepDetails()?.attempt).toBe(1);
  });
});

describeLocal("a shipping URL that is not http(s)", () => {
  // Changed: this URL was found by create-shipment, after the charge; check-settings now finds it before anything is
  // sent, so nobody is charged for an order that cannot ship. (A setting failing inside create-shipment itself is in
  // test/setting-attempts.test.ts.)
  it("before anything is sent: the order fails at check-settings naming SHIPPING_API_URL, nothing held or charged", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    process.env.SHIPPING_API_URL = "ftp://carrier.example/ship";
    const result = await runOrder();
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(result.getError().errorMessage).toContain(
      "failed at check-settings: SHIPPING_API_URL (shippingUrl): the service's base URL must be http(s)",
    );
    expect(result.getError().errorMessage).toContain("Nothing was sent: nothing was reserved or charged.");
    expect(runner.getOperation("check-settings").getStepDetails()?.attempt).toBe(1);
    expect(hw.calls).toEqual([]);
    expect(hw.charges).toHaveLength(0);
    expect(hw.held()).toBe(0);
    expect(hw.shipments.size).toBe(0);
  });
});

describeLocal("a 1 MB error body with newlines, ANSI escapes and the token echoed", () => {
  const echo = () =>
    `\u001b[2J\u001b[31mREFUSED\u001b[0m\r\nAuthorization: Bearer ${TOKEN}\n` +
    `{"level":"ERROR","msg":"forged"}\n${`${TOKEN}\n\u001b[1A\u0007`.repeat(25_000)}`;
  const checkShort = (text: string | undefined, max: number) => {
    expect(text).toBeDefined();
    expect(text!.length).toBeLessThanOrEqual(max);
    // eslint-disable-next-line no-control-regex -- the point is to find control characters
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(text).not.toContain(TOKEN);
  };

  beforeEach(() => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    expect(echo().length).toBeGreaterThan(1_000_000);
  });

  it("from the inventory (409): the step's error and the execution's error stay short, on one line, without the token", async () => {
    hw.faults.reserve = [({ res }) => hw.reply(res, 409, echo())];
    const result = await runOrder();
    const stepError = runner.getOperation("reserve-stock").getStepDetails()?.error;
    checkShort(stepError?.errorMessage, 500);
    expect(stepError?.errorType).toBe("ClientError");
    expect(stepError?.errorMessage).toContain(
      "answered 409: [2J [31mREFUSED [0m Authorization: Bearer [redacted]",
    );
    checkShort(result.getError().errorMessage, 650);
    expect(result.getError().errorType).toBe("OrderFailedError");
    expect(hw.held()).toBe(0);
  });

  it("from the gateway (402, declined): the same, and nothing is charged", async () => {
    hw.faults.charge = [({ res }) => hw.reply(res, 402, echo())];
    const result = await runOrder();
    checkShort(runner.getOperation("charge-payment").getStepDetails()?.error?.errorMessage, 500);
    checkShort(result.getError().errorMessage, 650);
    expect(hw.charges).toEqual([]);
    expect(hw.held()).toBe(0);
  });

  it("from the review request (500, side work): the record in the result stays short too", async () => {
    // The tracking email goes through; the review request (the second message) fails on every attempt.
    hw.faults.send = [undefined, ...every(({ res }) => hw.reply(res, 500, echo()))];
    const result = await runOrder();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const review = result.getResult()?.sideWork.find((record) => record.operation === "request-review");
    expect(review?.status).toBe("in-doubt");
    checkShort(review?.error, 500);
  });
});

describe("the retry decisions never retry a setting a person must fix", () => {
  const settingErrors: [string, Error][] = [
    ["SettingError", new SettingError("ORDER_API_TOKEN could not be read", "ORDER_API_TOKEN")],
    ["HttpSettingError", new HttpSettingError("the service's base URL must be http(s)")],
    [
      "SecretSettingError",
      new SecretSettingError("ORDER_API_TOKEN_SECRET_ARN is not set", "ORDER_API_TOKEN"),
    ],
  ];

  it.each(settingErrors)("%s: not done, and no strategy retries it", (_name, error) => {
    expect(outcomeOf(error)).toBe("not-done");
    expect(retryWithSameKey(error, 1).shouldRetry).toBe(false);
    expect(chargeRetryStrategy(error, 1).shouldRetry).toBe(false);
    expect(retryUnlessClientError(error, 1).shouldRetry).toBe(false);
  });

  it.each(settingErrors)("%s: a step that failed with it was not done", (_name, error) => {
    // As the SDK reports a failed step: its own error, the provider's error's name on `cause`.
    const stepError = new StepError(error.message, error);
    expect(outcomeOfFailedStep(stepError, { stopsInDoubt: false })).toBe("not-done");
    expect(outcomeOfFailedStep(stepError, { stopsInDoubt: true })).toBe("not-done");
  });

  it("a secret that cannot be read for now becomes a TransientServiceError in the HTTP deps: retried like a 429", () => {
    const transient = new TransientServiceError(
      "ORDER_API_TOKEN could not be read (ThrottlingException); nothing was sent",
    );
    expect(retryWithSameKey(transient, 1).shouldRetry).toBe(true);
    expect(chargeRetryStrategy(transient, 1).shouldRetry).toBe(true);
    expect(retryUnlessClientError(transient, 1).shouldRetry).toBe(true);
  });

  it("a SettingError is a ClientError with status 0: whoever checks for a refusal sees one", () => {
    const error = new SettingError("No URL configured for shippingUrl", "SHIPPING_API_URL");
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({
      status: 0,
      retryable: false,
      outcome: "not-done",
      setting: "SHIPPING_API_URL",
    });
  });
});
