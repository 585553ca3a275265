import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { ExecutionStatus, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import {
  createHandler,
  createHttpDeps,
  dynamoCallbackRegistry,
  type CheckoutOutcome,
  type WorkflowConfig,
} from "../src";
import { sampleOrder } from "../src/demo";
import { every, hostileAnswer, HttpWorld, type Fault } from "./http-world";
import { testConfig, webhookNeverComes } from "./support";
import { watchInvocations } from "./invocations";
import { createRunner, describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

/**
 * The checkout end to end on its real dependencies: the HTTP deps against the four services on 127.0.0.1 (each
 * under its own base path, recording every request with its headers), the callback registry on dynalite through
 * the real DynamoDBClient, and CHECKOUT_API_TOKEN from Secrets Manager (aws-sdk-client-mock at the client
 * Powertools uses). Local only: the deployed function has its own services.
 */
const TABLE = "checkout-callbacks";
const TOKEN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:checkout-api-token-AbCdEf";
const TOKEN = "tok_live_7fG2kQ9xLm";
const secretsManager = mockClient(SecretsManagerClient);
let dynamo: { server: Server; client: DynamoDBClient };
let world: HttpWorld;

beforeAll(async () => {
  await setupTestEnvironment({ skipTime: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require("dynalite") as (options: { createTableMs: number }) => Server;
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: "orderId", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "orderId", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  dynamo = { server, client };
});
afterAll(async () => {
  secretsManager.restore();
  dynamo.client.destroy();
  await new Promise<void>((resolve) => dynamo.server.close(() => resolve()));
  await teardownTestEnvironment();
});
beforeEach(async () => {
  secretsManager.reset();
  clearCaches();
  process.env.CHECKOUT_API_TOKEN_SECRET_ARN = TOKEN_ARN;
  world = await new HttpWorld().start();
});
afterEach(async () => {
  delete process.env.CHECKOUT_API_TOKEN_SECRET_ARN;
  delete process.env.CHECKOUT_API_TOKEN;
  await world.stop();
});

/** A runner for the checkout on the real deps; each test its own order id, so the registry holds one item each. */
function setUp(
  orderId: string,
  settings: { trailingSlash?: boolean; warehouseUrl?: string; config?: WorkflowConfig } = {},
) {
  const config = world.config(settings.trailingSlash ?? false);
  const deps = {
    ...createHttpDeps(() => ({ ...config, warehouseUrl: settings.warehouseUrl ?? config.warehouseUrl })),
    callbacks: dynamoCallbackRegistry(() => TABLE, dynamo.client),
  };
  const invocations = watchInvocations(createHandler(deps, settings.config ?? testConfig()));
  const runner = createRunner<CheckoutOutcome>({
    handler: invocations.handler,
    cloudOutput: "EntryPointsHandlerAliasArn",
  });
  return { runner, order: { ...sampleOrder, orderId }, suspended: invocations.suspended };
}

const reads = () => secretsManager.commandCalls(GetSecretValueCommand).length;
const names = (result: { getOperations(): Array<{ getName(): string | undefined }> }) =>
  result.getOperations().map((operation) => operation.getName());
const registered = async (orderId: string) =>
  (
    await dynamo.client.send(
      new GetItemCommand({ TableName: TABLE, Key: { orderId: { S: orderId } }, ConsistentRead: true }),
    )
  ).Item?.callbackId?.S;

/** One line, a few hundred characters, no token: what may reach a step's error, the execution's, an alert. */
function expectSafe(text: string | undefined, max: number) {
  expect(text).toBeDefined();
  expect(text!.length).toBeLessThanOrEqual(max);
  // eslint-disable-next-line no-control-regex
  expect(text).not.toMatch(/[\u0000-\u001f\u007f]/);
  expect(text).not.toContain(TOKEN);
}

describeLocal("the checkout over HTTP, DynamoDB and Secrets Manager", () => {
  it.each([
    ["without", false],
    ["with", true],
  ])(
    "paid by webhook (base URLs %s a trailing slash): every request under its base path, with the secret's token, read once",
    async (_label, trailingSlash) => {
      secretsManager.on(GetSecretValueCommand, { SecretId: TOKEN_ARN }).resolves({ SecretString: TOKEN });
      const { runner, order, suspended } = setUp(trailingSlash ? "H-1002" : "H-1001", { trailingSlash });
      const webhook = runner.getOperation("payment-webhook");
      const run = runner.run({ payload: order });
      await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
      await webhook.waitForData(WaitingOperationStatus.STARTED);
      await suspended();
      await webhook.sendCallbackSuccess(JSON.stringify(world.settle(order.orderId, "succeeded")));
      const result = await run;

      expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const payment = [...world.payments.values()][0]!;
      expect(result.getResult()).toEqual({
        orderId: order.orderId,
        status: "FULFILLED",
        paymentId: payment.paymentId,
        shipmentId: "shp_1",
        confirmedBy: "webhook",
      });
      // The services' records: what they received, where, with which key and token.
      expect(world.received).toEqual([
        {
          method: "POST",
          path: "/psp/v2/payments",
          route: "pay",
          key: `${order.orderId}:payment`,
          authorization: `Bearer ${TOKEN}`,
        },
        {
          method: "POST",
          path: "/warehouse/shipments",
          route: "ship",
          key: `${order.orderId}:ship`,
          authorization: `Bearer ${TOKEN}`,
        },
      ]);
      expect(world.shipments.get(`${order.orderId}:ship`)).toEqual({
        shipmentId: "shp_1",
        orderId: order.orderId,
      });
      // The registry in DynamoDB holds the callback the webhook completed.
      expect(await registered(order.orderId)).toBe(webhook.getCallbackDetails()!.callbackId);
      // Two invocations, two calls, one GetSecretValue: the value is cached for the sandbox.
      expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
      expect(reads()).toBe(1);
    },
  );

  it.each<[string, () => Error, string]>([
    [
      "missing (ResourceNotFoundException)",
      () =>
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: {},
        }),
      "ResourceNotFoundException: no such secret, or it has no current value",
    ],
    [
      "unreadable (AccessDeniedException)",
      () =>
        new SecretsManagerServiceException({
          name: "AccessDeniedException",
          $fault: "client",
          message: "User is not authorized to perform: secretsmanager:GetSecretValue",
          $metadata: { httpStatusCode: 400 },
        }),
      "AccessDeniedException: the function's role may not read it",
    ],
  ])(
    "the token's secret %s: the checkout fails at once, naming the setting; the payment is not requested, nothing is settled",
    async (_label, error, reason) => {
      secretsManager.on(GetSecretValueCommand).rejects(error());
      const { runner, order } = setUp(reason.startsWith("Resource") ? "H-2001" : "H-2002");
      const result = await runner.run({ payload: order });

      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("SecretSettingError");
      expect(result.getError().errorMessage).toBe(
        `Order ${order.orderId}: the payment was not requested (nothing was sent to the provider, nothing charged ` +
          `or shipped): CHECKOUT_API_TOKEN could not be read from the secret in CHECKOUT_API_TOKEN_SECRET_ARN ` +
          `(${reason})`,
      );
      // Not retried (one attempt, one read), not taken as in doubt (no look-up, no void), no service called.
      expect(runner.getOperation("request-payment").getStepDetails()?.attempt).toBe(1);
      expect(names(result)).toEqual(["payment-webhook", "register-payment-callback", "request-payment"]);
      expect(reads()).toBe(1);
      expect(world.received).toEqual([]);
      expect(world.payments.size).toBe(0);
    },
  );

  it("a token in the plain environment is refused: the checkout fails naming it, and nothing is sent", async () => {
    process.env.CHECKOUT_API_TOKEN = TOKEN;
    const { runner, order } = setUp("H-2003");
    const result = await runner.run({ payload: order });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("SecretSettingError");
    expect(result.getError().errorMessage).toContain("CHECKOUT_API_TOKEN is set in the plain environment");
    expect(result.getError().errorMessage).not.toContain(TOKEN);
    expect(reads()).toBe(0);
    expect(world.received).toEqual([]);
  });

  it("paid, then the warehouse's URL is unset: not retried, and the payment taken without goods is escalated naming the setting", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    const { runner, order } = setUp("H-2004", { warehouseUrl: "" });
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: order });
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle(order.orderId, "succeeded")));
    const result = await run;

    expect(result.getError().errorType).toBe("PaidNotShippedError");
    expect(result.getError().errorMessage).toContain("No warehouseUrl configured (WAREHOUSE_API_URL)");
    expect(runner.getOperation("fulfil-order").getStepDetails()?.attempt).toBe(1);
    expect(world.received.map((request) => request.route)).toEqual(["pay", "alert"]);
    expect(world.alerts.get(`${order.orderId}:alert`)?.problem).toBe(result.getError().errorMessage);
  });

  it("a 1 MB error body with newlines, ANSI escapes and the token echoed: the step's error, the execution's and the alert stay a few hundred characters, on one line, without the token", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    world.faults.ship = every(hostileAnswer(500, TOKEN));
    const { runner, order } = setUp("H-3001");
    const webhook = runner.getOperation("payment-webhook");
    const run = runner.run({ payload: order });
    await webhook.waitForData(WaitingOperationStatus.STARTED);
    await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await webhook.sendCallbackSuccess(JSON.stringify(world.settle(order.orderId, "succeeded")));
    const result = await run;

    expect(result.getError().errorType).toBe("PaidNotShippedError");
    const stepError = runner.getOperation("fulfil-order").getStepDetails()?.error?.errorMessage;
    expect(stepError).toContain(
      `warehouse (POST ${world.origin}/warehouse/shipments) answered 500: upstream error`,
    );
    expectSafe(stepError, 500);
    const executionError = result.getError().errorMessage;
    expect(executionError).toMatch(
      /^Order H-3001 is paid \(pay_H30011\) but could not be shipped \(warehouse/,
    );
    expect(executionError).toContain("ship it or refund it by hand");
    expectSafe(executionError, 600);
    // The warehouse got the token on each of its five attempts; its echo of it is cut out everywhere.
    expect(world.received.filter((request) => request.route === "ship")).toHaveLength(5);
    expect(world.received.every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(world.alerts.get("H-3001:alert")?.problem).toBe(executionError);
  });
});

/** Answers `status` with `body` as it is (JSON text or not); `before` changes the provider's record first. */
const answer =
  (status: number, body: string, options: { before?: () => void; contentType?: string } = {}): Fault =>
  ({ res }) => {
    options.before?.();
    res.writeHead(status, { "content-type": options.contentType ?? "application/json" });
    res.end(body);
  };
const PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1>Service temporarily unavailable</body></html>";

describeLocal(
  "the payment settled by key on the real deps: the void's answer and the record's payment id",
  () => {
    beforeEach(() => {
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: TOKEN });
    });
    const paymentOf = (orderId: string) => world.payments.get(`${orderId}:payment`)!;
    const routes = () => world.received.map((request) => request.route);

    it.each<[string, number, string, string | undefined, "void-too-late" | "look-up", string]>([
      ['200 {"status":"succeeded"}', 200, '{"status":"succeeded"}', undefined, "void-too-late", "V-1001"],
      ["200 with a proxy's HTML page", 200, PROXY_PAGE, "text/html", "look-up", "V-1002"],
      ["200 {}", 200, "{}", undefined, "look-up", "V-1003"],
      ['200 "garbage"', 200, '"garbage"', undefined, "look-up", "V-1004"],
      ['200 {"status":"not-found"}', 200, '{"status":"not-found"}', undefined, "look-up", "V-1005"],
      ["204 with no body", 204, "", undefined, "look-up", "V-1006"],
    ])(
      "no webhook, and the void is answered %s after the provider captured the payment: paid, shipped once, never cancelled",
      async (_label, status, body, contentType, confirmedBy, orderId) => {
        world.faults.void = every(
          answer(status, body, { contentType, before: () => (paymentOf(orderId).status = "succeeded") }),
        );
        const { runner, order } = setUp(orderId, { config: testConfig(webhookNeverComes) });
        const result = await runner.run({ payload: order });

        expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
        expect(result.getResult()).toEqual({
          orderId,
          status: "FULFILLED",
          paymentId: paymentOf(orderId).paymentId,
          shipmentId: "shp_1",
          confirmedBy,
        });
        // The provider's record and the others': captured, shipped once, no cancellation, no alert.
        expect(paymentOf(orderId).status).toBe("succeeded");
        expect(world.shipments.size).toBe(1);
        expect(world.cancellations.size).toBe(0);
        expect(world.alerts.size).toBe(0);
        if (confirmedBy === "look-up") {
          // An answer that is no void outcome is not read as voided: the record by key, read again, settles it.
          expect(names(result)).toContain("look-up-after-void");
          expect(routes().filter((route) => route === "look-up")).toHaveLength(2);
        } else {
          expect(names(result)).not.toContain("look-up-after-void");
        }
      },
    );

    it("the provider voids but its answer is a proxy's HTML page: the record by key says voided (failed), so the order is cancelled once", async () => {
      world.faults.void = every(({ act, res }) => {
        act();
        answer(200, PROXY_PAGE, { contentType: "text/html" })({ act, res });
      });
      const { runner, order } = setUp("V-2001", { config: testConfig(webhookNeverComes) });
      const result = await runner.run({ payload: order });

      expect(result.getResult()).toEqual({
        orderId: "V-2001",
        status: "CANCELLED",
        reason:
          "payment not confirmed (no webhook arrived in time); the provider reports it failed after a void",
      });
      expect(paymentOf("V-2001").status).toBe("voided");
      expect(world.cancellations.get("V-2001:cancel")?.orderId).toBe("V-2001");
      expect(world.shipments.size).toBe(0);
      // The void was retried with its key (the same key each time), then the record was read again.
      const voids = world.received.filter((request) => request.route === "void");
      expect(voids.length).toBe(6);
      expect(new Set(voids.map((request) => request.key))).toEqual(new Set(["V-2001:payment:void"]));
      expect(names(result)).toEqual([
        "payment-webhook",
        "register-payment-callback",
        "request-payment",
        "look-up-payment",
        "void-payment",
        "look-up-after-void",
        "cancel-order",
      ]);
    });

    it.each([
      ["{} on every attempt", "{}", "V-3001"],
      ['{"status":"not-found"} for the payment the look-up found open', '{"status":"not-found"}', "V-3002"],
    ])(
      "the void answers %s and the payment stays open: neither shipped nor cancelled, PaymentUnsettledError, alerted",
      async (_label, body, orderId) => {
        world.faults.void = every(answer(200, body));
        const { runner, order } = setUp(orderId, { config: testConfig(webhookNeverComes) });
        const result = await runner.run({ payload: order });

        expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
        expect(result.getError().errorType).toBe("PaymentUnsettledError");
        expect(result.getError().errorMessage).toContain("the provider still reports the payment open");
        expect(result.getError().errorMessage).toContain(
          `settle it with the provider by key ${orderId}:payment`,
        );
        expect(paymentOf(orderId).status).toBe("pending");
        expect(world.shipments.size).toBe(0);
        expect(world.cancellations.size).toBe(0);
        expect(world.alerts.get(`${orderId}:alert`)).toEqual({
          orderId,
          kind: "PaymentUnsettledError",
          problem: result.getError().errorMessage,
        });
      },
    );

    it("the look-up finds a payment with another id than the one the payment request got: a conflict, nothing shipped, cancelled or voided; the alert names both ids and the key", async () => {
      world.faults["look-up"] = [answer(200, '{"status":"succeeded","paymentId":"pay_999"}')];
      const { runner, order } = setUp("C-1001", { config: testConfig(webhookNeverComes) });
      const result = await runner.run({ payload: order });

      const requested = paymentOf("C-1001").paymentId;
      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("PaymentUnsettledError");
      expect(result.getError().errorMessage).toBe(
        `Order C-1001: the provider gave two payment ids for key C-1001:payment: ${requested} (when the payment ` +
          "was requested) and pay_999 (its record by key); nothing was shipped or cancelled: find out with the " +
          "provider which one is this order's, then ship or cancel by hand, and void or refund the other",
      );
      expect(world.alerts.get("C-1001:alert")?.problem).toBe(result.getError().errorMessage);
      expect(routes()).toEqual(["pay", "look-up", "alert"]);
      expect(paymentOf("C-1001").status).toBe("pending");
      expect(world.shipments.size + world.cancellations.size).toBe(0);
    });

    it("the record read again after an unclear void has another payment id: a conflict, nothing shipped or cancelled, both ids named", async () => {
      world.faults.void = every(answer(200, "{}"));
      world.faults["look-up"] = [undefined, answer(200, '{"status":"failed","paymentId":"pay_other7"}')];
      const { runner, order } = setUp("C-1002", { config: testConfig(webhookNeverComes) });
      const result = await runner.run({ payload: order });

      const first = paymentOf("C-1002").paymentId;
      expect(result.getError().errorType).toBe("PaymentUnsettledError");
      expect(result.getError().errorMessage).toContain(
        `two payment ids for key C-1002:payment: ${first} (its record by key before the void) and pay_other7`,
      );
      expect(world.alerts.get("C-1002:alert")?.problem).toBe(result.getError().errorMessage);
      expect(world.shipments.size + world.cancellations.size).toBe(0);
    });

    it("a provider that answers 200 (not 201) with a short id, pay_1 (its webhook event evt_1x1): done, no look-up or void, paid by the webhook and shipped", async () => {
      world.faults.pay = [
        ({ act, res }) => {
          act();
          paymentOf("S-1001").paymentId = "pay_1";
          answer(200, '{"paymentId":"pay_1"}')({ act, res });
        },
      ];
      const { runner, order } = setUp("S-1001");
      const webhook = runner.getOperation("payment-webhook");
      const run = runner.run({ payload: order });
      await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
      await webhook.waitForData(WaitingOperationStatus.STARTED);
      await webhook.sendCallbackSuccess(JSON.stringify(world.settle("S-1001", "succeeded")));
      const result = await run;

      expect(result.getResult()).toEqual({
        orderId: "S-1001",
        status: "FULFILLED",
        paymentId: "pay_1",
        shipmentId: "shp_1",
        confirmedBy: "webhook",
      });
      expect(runner.getOperation("request-payment").getStepDetails()?.attempt).toBe(1);
      expect(routes()).toEqual(["pay", "ship"]);
    });
  },
);
