import type { Server } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import {
  CreateTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { ClientError, dynamoCallbackRegistry, TransientServiceError } from "../src";
import { REGISTRY_TTL_SECONDS } from "../src/deps";
import { retryTransient } from "../src/payment-outcome";

/**
 * The callback registry against a real DynamoDB API: dynalite, in this process, in memory, on 127.0.0.1, through
 * the real DynamoDBClient. The table is made as the stack makes it (partition key `orderId`, a string; TTL on
 * `expiresAt`, which dynalite does not enforce, so the tests read the attribute). The errors a local server
 * cannot produce on demand (throttling, an internal error, access denied) come from aws-sdk-client-mock.
 */
const TABLE = "checkout-callbacks";
let server: Server;
let client: DynamoDBClient;

beforeAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require("dynalite") as (options: { createTableMs: number }) => Server;
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = localClient((server.address() as AddressInfo).port);
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: "orderId", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "orderId", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function localClient(port: number) {
  return new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
}

/** The error a call failed with; a call that succeeds fails the test. */
async function failureOf(call: Promise<unknown>): Promise<Error> {
  return call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: Error) => error,
  );
}

const itemOf = async (orderId: string) =>
  (
    await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { orderId: { S: orderId } }, ConsistentRead: true }),
    )
  ).Item;
const itemsFor = async (orderId: string) =>
  ((await client.send(new ScanCommand({ TableName: TABLE }))).Items ?? []).filter(
    (item) => item.orderId?.S === orderId,
  );

describe("the callback registry on DynamoDB (dynalite)", () => {
  it("writes order id -> callback id with its expiry, the attribute the table's TTL removes it by, and finds it again", async () => {
    const registry = dynamoCallbackRegistry(() => TABLE, client);
    const before = Math.floor(Date.now() / 1000);
    await registry.register({ orderId: "A-2001", callbackId: "cb-secret-2001" });
    const after = Math.floor(Date.now() / 1000);

    const item = await itemOf("A-2001");
    expect(item).toEqual({
      orderId: { S: "A-2001" },
      callbackId: { S: "cb-secret-2001" },
      expiresAt: { N: expect.stringMatching(/^\d+$/) as unknown },
    });
    // Seconds since the epoch (DynamoDB TTL's unit), a week on: far past the payment timeout.
    const expiresAt = Number(item!.expiresAt!.N);
    expect(expiresAt).toBeGreaterThanOrEqual(before + REGISTRY_TTL_SECONDS);
    expect(expiresAt).toBeLessThanOrEqual(after + REGISTRY_TTL_SECONDS);
    expect(await registry.find("A-2001")).toBe("cb-secret-2001");
    expect(await registry.find("A-2404")).toBeUndefined();
  });

  it("a second write for the same order: the same callback id (a retried step) succeeds, another one is refused and the first stays", async () => {
    const registry = dynamoCallbackRegistry(() => TABLE, client);
    await registry.register({ orderId: "A-2002", callbackId: "cb-secret-first" });
    // The step retried after its reply was lost, or re-run after a crash before its checkpoint: harmless.
    await registry.register({ orderId: "A-2002", callbackId: "cb-secret-first" });
    expect(await itemsFor("A-2002")).toHaveLength(1);

    // Another execution for the same order must not re-point the webhook away from the first checkout.
    const second = registry.register({ orderId: "A-2002", callbackId: "cb-secret-second" });
    await expect(second).rejects.toBeInstanceOf(ClientError);
    await expect(second).rejects.toThrow(
      "callback registry: order A-2002 is already registered to another checkout's callback",
    );
    const error = await failureOf(second);
    expect(error.message).not.toMatch(/cb-secret/);
    expect(retryTransient(error, 1)).toEqual({ shouldRetry: false });

    expect(await itemsFor("A-2002")).toEqual([
      expect.objectContaining({ callbackId: { S: "cb-secret-first" } }),
    ]);
    expect(await registry.find("A-2002")).toBe("cb-secret-first");
  });

  it("a table that does not exist: a clear error naming CALLBACK_TABLE_NAME, not retried", async () => {
    const registry = dynamoCallbackRegistry(() => "checkout-callbacks-typo", client);
    for (const call of [
      registry.register({ orderId: "A-2003", callbackId: "cb-secret-2003" }),
      registry.find("A-2003"),
    ]) {
      const error = await failureOf(call);
      expect(error).toBeInstanceOf(ClientError);
      expect(error.message).toBe(
        'callback registry: the table "checkout-callbacks-typo" in CALLBACK_TABLE_NAME does not exist in this ' +
          "account and region (ResourceNotFoundException)",
      );
      expect(retryTransient(error, 1)).toEqual({ shouldRetry: false });
    }
  });

  it("no table configured is a clear error, and nothing is sent", async () => {
    const mock = mockClient(client);
    try {
      const registry = dynamoCallbackRegistry(() => "", client);
      await expect(registry.find("A-2004")).rejects.toThrow(
        "No callback table configured (CALLBACK_TABLE_NAME)",
      );
      expect(mock.calls()).toHaveLength(0);
    } finally {
      mock.restore();
    }
  });

  it("DynamoDB unreachable (nothing listens on the endpoint) is transient, retried", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const unreachable = localClient(closed);
    try {
      const failure = dynamoCallbackRegistry(() => TABLE, unreachable).find("A-2005");
      await expect(failure).rejects.toBeInstanceOf(TransientServiceError);
      // Its code (ECONNREFUSED) where the SDK keeps it; under jest the SDK wraps Node's error and drops the code.
      await expect(failure).rejects.toThrow(/^callback registry: (ECONNREFUSED|a network or client error)$/);
      expect(retryTransient(await failureOf(failure), 1)).toMatchObject({
        shouldRetry: true,
      });
    } finally {
      unreachable.destroy();
    }
  });
});

describe("the errors a local DynamoDB does not produce on demand (aws-sdk-client-mock)", () => {
  const awsError = (name: string, fault: "client" | "server") =>
    new DynamoDBServiceException({
      name,
      $fault: fault,
      // AWS messages can quote the request, and so the callback id: never copied into ours.
      message: `${name} for item {"callbackId":"cb-secret-9"}`,
      $metadata: { httpStatusCode: fault === "client" ? 400 : 500 },
    });

  it.each<[string, "client" | "server", typeof ClientError | typeof TransientServiceError, boolean]>([
    ["ProvisionedThroughputExceededException", "client", TransientServiceError, true],
    ["ThrottlingException", "client", TransientServiceError, true],
    ["InternalServerError", "server", TransientServiceError, true],
    ["AccessDeniedException", "client", ClientError, false],
  ])("%s", async (name, fault, expected, retried) => {
    const mocked = new DynamoDBClient({ region: "eu-west-1" });
    const mock = mockClient(mocked);
    mock.on(PutItemCommand).rejects(awsError(name, fault));
    try {
      const error = await failureOf(
        dynamoCallbackRegistry(() => TABLE, mocked).register({
          orderId: "A-2009",
          callbackId: "cb-secret-9",
        }),
      );
      expect(error).toBeInstanceOf(expected);
      expect(error.message).toContain(name);
      expect(error.message).not.toContain("cb-secret-9");
      if (expected === ClientError) expect(error.message).toContain("CALLBACK_TABLE_NAME");
      expect(retryTransient(error, 1).shouldRetry).toBe(retried);
      // The write the registry sent: the item with its condition, to the configured table.
      expect(mock.commandCalls(PutItemCommand)[0]!.args[0].input).toMatchObject({
        TableName: TABLE,
        ConditionExpression: "attribute_not_exists(orderId) OR callbackId = :callbackId",
      });
    } finally {
      mock.restore();
      mocked.destroy();
    }
  });
});

describe("the sandbox's own client", () => {
  it("loads the DynamoDB client module on first use, not when the handler is imported, and makes one client per sandbox", async () => {
    // A stand-in for the module that records when it is evaluated, what clients are made and what they send.
    const record = { evaluated: 0, clients: 0, sent: [] as string[] };
    await jest
      .isolateModulesAsync(async () => {
        jest.doMock("@aws-sdk/client-dynamodb", () => {
          record.evaluated += 1;
          const command = (name: string) =>
            class {
              readonly name = name;
              constructor(readonly input: unknown) {}
            };
          return {
            PutItemCommand: command("PutItem"),
            GetItemCommand: command("GetItem"),
            DynamoDBClient: class {
              constructor() {
                record.clients += 1;
              }
              send = async (sent: { name: string }) => {
                record.sent.push(sent.name);
                return {};
              };
            },
          };
        });
        const module = await import("../src/index");
        expect(typeof module.handler).toBe("function");
        expect(record.evaluated).toBe(0);

        const registry = module.dynamoCallbackRegistry(() => "callbacks");
        await registry.register({ orderId: "A-1001", callbackId: "cb-secret-1" });
        await registry.find("A-1001");
      })
      .finally(() => jest.dontMock("@aws-sdk/client-dynamodb"));
    expect(record).toEqual({ evaluated: 1, clients: 1, sent: ["PutItem", "GetItem"] });
  });
});
