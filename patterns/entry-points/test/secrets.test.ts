import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  InternalServiceError,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { createHttpDeps } from "../src";
import { paymentEvent, sampleOrder, signedDelivery } from "../src/demo";
import { webhookHandler } from "../src/front-door/handlers";
import { HttpSettingError } from "../src/http-call";
import { retryPaymentRequest, retrySettlement, retryTransient } from "../src/payment-outcome";
import { SECRET_PLACEHOLDER, SecretSettingError } from "../src/secret-setting";
import { HttpWorld } from "./http-world";
import { TEST_SECRET } from "./support";

/**
 * The checkout's one secret setting, CHECKOUT_API_TOKEN, read from Secrets Manager (mocked at the SDK client, the
 * one Powertools uses) inside each call of the real HTTP deps, against services on 127.0.0.1 that record the
 * Authorization header they got.
 */
const TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout-api-token-AbCdEf";
const TOKEN = "tok_live_7fG2kQ9xLm";
const secretsManager = mockClient(SecretsManagerClient);
const order = { orderId: "A-1001", amountCents: 8950, currency: "EUR", idempotencyKey: "A-1001:payment" };

let world: HttpWorld;
beforeEach(async () => {
  secretsManager.reset();
  clearCaches();
  process.env.CHECKOUT_API_TOKEN_SECRET_ARN = TOKEN_ARN;
  delete process.env.CHECKOUT_API_TOKEN;
  world = await new HttpWorld().start();
});
afterEach(async () => {
  delete process.env.CHECKOUT_API_TOKEN_SECRET_ARN;
  delete process.env.CHECKOUT_API_TOKEN;
  await world.stop();
});
afterAll(() => secretsManager.restore());

const reads = () =>
  secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId);

describe("CHECKOUT_API_TOKEN comes from Secrets Manager, read in the call", () => {
  it("the token in the secret reaches each of the four services as a bearer token, and the secret is read once per max age", async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).resolves({ SecretString: TOKEN });
    const deps = world.deps();
    const { paymentId } = await deps.payments.requestPayment(order);
    await deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" });
    await deps.orders.cancel({ orderId: "A-1001", reason: "test", idempotencyKey: "A-1001:cancel" });
    await deps.alerts.raise({ orderId: "A-1001", kind: "k", problem: "p", idempotencyKey: "A-1001:alert" });

    expect(paymentId).toBe(world.payments.get("A-1001:payment")!.paymentId);
    expect(world.received.map(({ route, authorization }) => `${route} ${authorization}`)).toEqual([
      `pay Bearer ${TOKEN}`,
      `ship Bearer ${TOKEN}`,
      `cancel Bearer ${TOKEN}`,
      `alert Bearer ${TOKEN}`,
    ]);
    // Four calls within SECRET_MAX_AGE_SECONDS: one GetSecretValue, of exactly the configured secret.
    expect(reads()).toEqual([TOKEN_ARN]);
  });

  it("after the cache is cleared (a new sandbox, or maxAge passed) the secret is read again, and a rotated value is used", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: TOKEN })
      .resolves({ SecretString: "tok_rotated_0001" });
    const deps = world.deps();
    await deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" });
    await deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" });
    clearCaches();
    await deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" });

    expect(world.received.map((request) => request.authorization)).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
      "Bearer tok_rotated_0001",
    ]);
    expect(reads()).toHaveLength(2);
  });

  it("optional: no ARN configured, or the secret still holds the stack's placeholder, sends no token", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_PLACEHOLDER });
    const deps = world.deps();
    await deps.payments.requestPayment(order);
    delete process.env.CHECKOUT_API_TOKEN_SECRET_ARN;
    await deps.payments.requestPayment(order);

    expect(world.received.map(({ route, authorization }) => `${route} ${authorization}`)).toEqual([
      "pay undefined",
      "pay undefined",
    ]);
    // The provider's record: the second request found the first payment by its key.
    expect(world.payments.size).toBe(1);
  });

  it.each<[string, () => Error, string]>([
    [
      "missing (ResourceNotFoundException)",
      () =>
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: {},
        }),
      "ResourceNotFoundException: no such secret",
    ],
    [
      "unreadable (AccessDeniedException)",
      () =>
        new SecretsManagerServiceException({
          // Not modelled as a class by the Secrets Manager client: an AWS-wide error, as the service sends it.
          name: "AccessDeniedException",
          $fault: "client",
          message: "User is not authorized to perform: secretsmanager:GetSecretValue",
          $metadata: { httpStatusCode: 400 },
        }),
      "AccessDeniedException: the function's role may not read it",
    ],
  ])(
    "a secret %s fails every call before it is sent, naming the setting, not retryable",
    async (_label, error, reason) => {
      secretsManager.on(GetSecretValueCommand).rejects(error());
      const deps = world.deps();
      const failure = deps.payments.requestPayment(order);

      await expect(failure).rejects.toBeInstanceOf(SecretSettingError);
      await expect(failure).rejects.toMatchObject({ setting: "CHECKOUT_API_TOKEN", retryable: false });
      await expect(failure).rejects.toThrow(
        `CHECKOUT_API_TOKEN could not be read from the secret in CHECKOUT_API_TOKEN_SECRET_ARN (${reason}`,
      );
      await expect(
        deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "k" }),
      ).rejects.toThrow("CHECKOUT_API_TOKEN");
      // Nothing reached any service.
      expect(world.received).toEqual([]);
      expect(world.payments.size).toBe(0);
    },
  );

  it("a secret whose value HTTP cannot carry (a line break inside) names the setting, never the value, and sends nothing", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: "tok_live\nX-Injected: 1" });
    const failure = world.deps().payments.requestPayment(order);

    await expect(failure).rejects.toMatchObject({
      name: "SecretSettingError",
      setting: "CHECKOUT_API_TOKEN",
      retryable: false,
    });
    // The shared secretSetting refuses it now (c59106b), before this pattern's own check did: its message.
    await expect(failure).rejects.toThrow(
      "the secret in CHECKOUT_API_TOKEN_SECRET_ARN holds characters an HTTP header or URL cannot carry " +
        "(control characters or non-ASCII) in CHECKOUT_API_TOKEN",
    );
    await expect(failure).rejects.not.toThrow("tok_live");
    expect(world.received).toEqual([]);
  });

  it("a token in the plain environment is refused, not used, and nothing is sent", async () => {
    process.env.CHECKOUT_API_TOKEN = TOKEN;
    const failure = world.deps().payments.requestPayment(order);

    await expect(failure).rejects.toBeInstanceOf(SecretSettingError);
    await expect(failure).rejects.toThrow("CHECKOUT_API_TOKEN is set in the plain environment");
    await expect(failure).rejects.not.toThrow(TOKEN);
    expect(reads()).toEqual([]);
    expect(world.received).toEqual([]);
  });

  it("Secrets Manager briefly failing is a retryable SecretSettingError, still before anything is sent", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new InternalServiceError({ message: "boom", $metadata: {} }));
    const failure = world.deps().payments.requestPayment(order);

    await expect(failure).rejects.toMatchObject({ name: "SecretSettingError", retryable: true });
    expect(world.received).toEqual([]);
  });
});

describe("the retry strategies never retry a setting that cannot be used", () => {
  const strategies = { retryPaymentRequest, retrySettlement, retryTransient };

  it.each(Object.entries(strategies))("%s", (_name, strategy) => {
    const unreadable = new SecretSettingError("CHECKOUT_API_TOKEN could not be read", "CHECKOUT_API_TOKEN");
    const throttled = new SecretSettingError(
      "CHECKOUT_API_TOKEN could not be read",
      "CHECKOUT_API_TOKEN",
      true,
    );
    const badUrl = new HttpSettingError("PAYMENTS_API_URL: the service's base URL must be http(s)");

    expect(strategy(unreadable, 1)).toEqual({ shouldRetry: false });
    expect(strategy(badUrl, 1)).toEqual({ shouldRetry: false });
    // Throttled or briefly failing: nothing was sent, and the same request may work later.
    expect(strategy(throttled, 1)).toMatchObject({ shouldRetry: true });
  });
});

describe("base URLs are plain settings, checked before anything is sent", () => {
  it.each<[string, string, string]>([
    ["not set", "", "No paymentsUrl configured (PAYMENTS_API_URL)"],
    ["not a URL", "psp.example.com/v2", "PAYMENTS_API_URL: the service's base URL is not a URL"],
    ["not http(s)", "ftp://psp.example.com/v2", "PAYMENTS_API_URL: the service's base URL must be http(s)"],
    [
      "with credentials in it",
      "https://merchant:s3cr3t@psp.example.com/v2",
      "PAYMENTS_API_URL: the service's base URL must not contain credentials",
    ],
  ])(
    "a base URL %s is an HttpSettingError naming the setting, and not its value",
    async (_label, url, message) => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
      const deps = world.deps();
      const config = world.config(false);
      const failure = createHttpDeps(() => ({ ...config, paymentsUrl: url })).payments.requestPayment(order);

      await expect(failure).rejects.toBeInstanceOf(HttpSettingError);
      await expect(failure).rejects.toThrow(message);
      if (url.includes("s3cr3t")) await expect(failure).rejects.not.toThrow("s3cr3t");
      // The secret is not even read, and nothing is sent; the other services are unaffected.
      expect(reads()).toEqual([]);
      expect(world.received).toEqual([]);
      await deps.payments.requestPayment(order);
      expect(world.received).toHaveLength(1);
    },
  );
});

describe("the deployed webhook reads its signing secret the same way (required; its ARN in WEBHOOK_SECRET_ARN)", () => {
  const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:webhook-signing-AbCdEf";
  const now = () => Math.floor(Date.now() / 1000);
  // A final event would look up the registry and resume an execution; a processing event is verified, then
  // acknowledged and resumes nothing: it exercises exactly the secret.
  const body = JSON.stringify(
    paymentEvent({ ...sampleOrder, paymentId: "pay_A10011" }, "payment.processing"),
  );
  let logs: string[];
  beforeEach(() => {
    logs = [];
    jest.spyOn(console, "log").mockImplementation((line: string) => void logs.push(line));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    delete process.env.WEBHOOK_SECRET_ARN;
    delete process.env.WEBHOOK;
  });

  it("verifies deliveries with the secret's value, read once for many deliveries", async () => {
    process.env.WEBHOOK_SECRET_ARN = SECRET_ARN;
    secretsManager
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: TEST_SECRET });

    const signed = await webhookHandler(signedDelivery(TEST_SECRET, body, now()));
    const forged = await webhookHandler(signedDelivery("whsec_someone_else", body, now()));

    expect(signed.statusCode).toBe(200);
    expect((JSON.parse(signed.body) as { action: string }).action).toBe("ignored: not a final event");
    expect(forged.statusCode).toBe(401);
    expect(reads()).toEqual([SECRET_ARN]);
    expect(logs.join("\n")).not.toContain(TEST_SECRET);
  });

  it.each<[string, () => void, string]>([
    ["no WEBHOOK_SECRET_ARN", () => undefined, "WEBHOOK_SECRET_ARN is not set"],
    [
      "the secret in the plain environment",
      () => {
        process.env.WEBHOOK_SECRET_ARN = SECRET_ARN;
        process.env.WEBHOOK = TEST_SECRET;
      },
      "WEBHOOK is set in the plain environment",
    ],
    [
      "a missing secret",
      () => {
        process.env.WEBHOOK_SECRET_ARN = SECRET_ARN;
        secretsManager
          .on(GetSecretValueCommand)
          .rejects(new ResourceNotFoundException({ message: "not found", $metadata: {} }));
      },
      "WEBHOOK could not be read from the secret in WEBHOOK_SECRET_ARN (ResourceNotFoundException",
    ],
    [
      "the stack's placeholder still in the secret",
      () => {
        process.env.WEBHOOK_SECRET_ARN = SECRET_ARN;
        secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET_PLACEHOLDER });
      },
      "still holds the placeholder",
    ],
  ])(
    "%s: every delivery is refused (503), and the log names what to fix",
    async (_label, arrange, logged) => {
      arrange();
      const response = await webhookHandler(signedDelivery(TEST_SECRET, body, now()));

      expect(response.statusCode).toBe(503);
      expect(logs).toHaveLength(1);
      expect(JSON.parse(logs[0]!)).toMatchObject({ message: "webhook secret unavailable" });
      expect(logs[0]).toContain(logged);
      expect(logs[0]).not.toContain(TEST_SECRET);
    },
  );
});
