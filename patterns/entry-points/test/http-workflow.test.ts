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
import { createHandler, createHttpDeps, dynamoCallbackRegistry, type CheckoutOutcome } from "../src";
import { sampleOrder } from "../src/demo";
import { every, hostileAnswer, HttpWorld } from "./http-world";
import { testConfig } from "./support";
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
function setUp(orderId: string, settings: { trailingSlash?: boolean; warehouseUrl?: string } = {}) {
  const config = world.config(settings.trailingSlash ?? false);
  const deps = {
    ...createHttpDeps(() => ({ ...config, warehouseUrl: settings.warehouseUrl ?? config.warehouseUrl })),
    callbacks: dynamoCallbackRegistry(() => TABLE, dynamo.client),
  };
  const runner = createRunner<CheckoutOutcome>({
    handler: createHandler(deps, testConfig()),
    cloudOutput: "EntryPointsHandlerAliasArn",
  });
  return { runner, order: { ...sampleOrder, orderId } };
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
      const { runner, order } = setUp(trailingSlash ? "H-1002" : "H-1001", { trailingSlash });
      const webhook = runner.getOperation("payment-webhook");
      const run = runner.run({ payload: order });
      await runner.getOperation("request-payment").waitForData(WaitingOperationStatus.COMPLETED);
      await webhook.waitForData(WaitingOperationStatus.STARTED);
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
