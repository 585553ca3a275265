import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import {
  claimTrial,
  createDynamoDbBreakerStore,
  createRealDeps,
  StaleBreakerRecordError,
  type BreakerRecord,
} from "../src";

// The breaker store's real DynamoDB calls, first against a stubbed client (the exact commands), then through
// a real DynamoDBClient to a fake endpoint on 127.0.0.1 (what the SDK puts on the wire, and how it turns
// DynamoDB's error answer into the exception class the store catches).

/** A client whose `send` records each command and answers from a queue (a value, or an error to throw). */
function stubClient(...answers: unknown[]) {
  const commands: unknown[] = [];
  const client = {
    send: (command: unknown) => {
      commands.push(command);
      const next = answers.shift();
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next ?? {});
    },
  } as unknown as DynamoDBClient;
  return { client, commands };
}

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

describe("DynamoDB breaker store, stubbed client", () => {
  it("reads the record by circuit with a strongly consistent GetItem", async () => {
    const { client, commands } = stubClient({
      Item: {
        circuit: { S: "car-rental" },
        state: { S: "open" },
        consecutiveFailures: { N: "3" },
        openedAt: { N: "1790000000000" },
        version: { N: "7" },
      },
    });
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );

    await expect(store.get("car-rental")).resolves.toEqual({
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      version: 7,
    });
    expect(commands).toHaveLength(1);
    expect(commands[0]).toBeInstanceOf(GetItemCommand);
    expect((commands[0] as GetItemCommand).input).toEqual({
      TableName: "breakers",
      Key: { circuit: { S: "car-rental" } },
      ConsistentRead: true,
    });
  });

  it("reads no item as no record (version 0 on the first write)", async () => {
    const { client } = stubClient({});
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );
    await expect(store.get("car-rental")).resolves.toBeUndefined();
  });

  it("reads a closed record without openedAt, and missing numbers as 0", async () => {
    const { client } = stubClient({ Item: { circuit: { S: "car-rental" }, state: { S: "closed" } } });
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );
    await expect(store.get("car-rental")).resolves.toEqual({
      state: "closed",
      consecutiveFailures: 0,
      version: 0,
    });
  });

  it("writes the whole record, conditional on the version it read", async () => {
    const { client, commands } = stubClient({});
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );
    const record: BreakerRecord = {
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      version: 8,
    };

    await store.put("car-rental", record, 7);

    expect(commands).toHaveLength(1);
    expect(commands[0]).toBeInstanceOf(PutItemCommand);
    expect((commands[0] as PutItemCommand).input).toEqual({
      TableName: "breakers",
      Item: {
        circuit: { S: "car-rental" },
        state: { S: "open" },
        consecutiveFailures: { N: "3" },
        openedAt: { N: "1790000000000" },
        version: { N: "8" },
      },
      ConditionExpression: "attribute_not_exists(circuit) OR version = :expected",
      ExpressionAttributeValues: { ":expected": { N: "7" } },
    });
  });

  it("claims the half-open trial with a write conditional on the version read; a second claim fails its condition", async () => {
    const { client, commands } = stubClient({}, conditionFailed());
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );
    const open: BreakerRecord = {
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      version: 4,
    };
    const claim = (claimant: string) => claimTrial(open, 1_790_000_400_000, claimant);

    await store.put("car-rental", claim("5f0c2a9be1d4"), 4);
    await expect(store.put("car-rental", claim("a1b2c3d4e5f6"), 4)).rejects.toBeInstanceOf(
      StaleBreakerRecordError,
    );

    expect((commands[0] as PutItemCommand).input).toEqual({
      TableName: "breakers",
      Item: {
        circuit: { S: "car-rental" },
        state: { S: "open" },
        consecutiveFailures: { N: "3" },
        openedAt: { N: "1790000000000" },
        trialStartedAt: { N: "1790000400000" },
        trialClaimedBy: { S: "5f0c2a9be1d4" },
        version: { N: "5" },
      },
      ConditionExpression: "attribute_not_exists(circuit) OR version = :expected",
      ExpressionAttributeValues: { ":expected": { N: "4" } },
    });
  });

  it("reads a claimed trial back", async () => {
    const { client } = stubClient({
      Item: {
        circuit: { S: "car-rental" },
        state: { S: "open" },
        consecutiveFailures: { N: "3" },
        openedAt: { N: "1790000000000" },
        trialStartedAt: { N: "1790000400000" },
        trialClaimedBy: { S: "5f0c2a9be1d4" },
        version: { N: "5" },
      },
    });
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );
    await expect(store.get("car-rental")).resolves.toEqual({
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      trialStartedAt: 1_790_000_400_000,
      trialClaimedBy: "5f0c2a9be1d4",
      version: 5,
    });
  });

  it("writes a closed record without openedAt, and the first write expects version 0", async () => {
    const { client, commands } = stubClient({});
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );

    await store.put("car-rental", { state: "closed", consecutiveFailures: 1, version: 1 }, 0);

    expect((commands[0] as PutItemCommand).input).toMatchObject({
      Item: {
        circuit: { S: "car-rental" },
        state: { S: "closed" },
        consecutiveFailures: { N: "1" },
        version: { N: "1" },
      },
      ExpressionAttributeValues: { ":expected": { N: "0" } },
    });
    expect((commands[0] as PutItemCommand).input.Item).not.toHaveProperty("openedAt");
  });

  it("turns a failed condition into StaleBreakerRecordError, which the step retries with a fresh read", async () => {
    const { client } = stubClient(conditionFailed());
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );

    const put = store.put("car-rental", { state: "closed", consecutiveFailures: 2, version: 5 }, 4);
    await expect(put).rejects.toBeInstanceOf(StaleBreakerRecordError);
    await expect(put).rejects.toThrow("The breaker record changed since it was read");
  });

  it("passes any other DynamoDB error through unchanged", async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    const { client } = stubClient(throttled);
    const store = createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );
    await expect(
      store.put("car-rental", { state: "closed", consecutiveFailures: 0, version: 1 }, 0),
    ).rejects.toBe(throttled);
  });

  it("loads the DynamoDB client module on first use, not when the handler is imported, and makes one client per sandbox", async () => {
    // A stand-in for the module that records when it is evaluated, what clients are made and what they send.
    const record = { evaluated: 0, clients: 0, sent: [] as string[] };
    const savedTable = process.env.BREAKER_TABLE_NAME;
    process.env.BREAKER_TABLE_NAME = "breakers";
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
            ConditionalCheckFailedException: class extends Error {},
            GetItemCommand: command("GetItem"),
            PutItemCommand: command("PutItem"),
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

        const { breakerStore } = module.createRealDeps();
        await breakerStore.get("car-rental");
        await breakerStore.put("car-rental", { state: "closed", consecutiveFailures: 0, version: 1 }, 0);
      })
      .finally(() => {
        jest.dontMock("@aws-sdk/client-dynamodb");
        if (savedTable === undefined) delete process.env.BREAKER_TABLE_NAME;
        else process.env.BREAKER_TABLE_NAME = savedTable;
      });
    expect(record).toEqual({ evaluated: 1, clients: 1, sent: ["GetItem", "PutItem"] });
  });

  it("fails without a table name, before calling DynamoDB", async () => {
    const { client, commands } = stubClient();
    const store = createDynamoDbBreakerStore(
      () => "",
      () => client,
    );
    await expect(store.get("car-rental")).rejects.toThrow("BREAKER_TABLE_NAME is not set");
    await expect(
      store.put("car-rental", { state: "closed", consecutiveFailures: 0, version: 1 }, 0),
    ).rejects.toThrow("BREAKER_TABLE_NAME is not set");
    expect(commands).toEqual([]);
  });

  it("is what createRealDeps wires up, reading BREAKER_TABLE_NAME when called", async () => {
    const saved = process.env.BREAKER_TABLE_NAME;
    const { client, commands } = stubClient({});
    const deps = createRealDeps(undefined, () => client);
    try {
      delete process.env.BREAKER_TABLE_NAME;
      await expect(deps.breakerStore.get("car-rental")).rejects.toThrow("BREAKER_TABLE_NAME is not set");

      process.env.BREAKER_TABLE_NAME = "trip-breakers";
      await deps.breakerStore.get("car-rental");
      expect((commands[0] as GetItemCommand).input.TableName).toBe("trip-breakers");
    } finally {
      if (saved === undefined) delete process.env.BREAKER_TABLE_NAME;
      else process.env.BREAKER_TABLE_NAME = saved;
    }
  });
});

describe("DynamoDB breaker store, real client against a fake endpoint on 127.0.0.1", () => {
  interface Received {
    target: string | undefined;
    body: unknown;
  }
  let server: Server;
  let client: DynamoDBClient;
  const received: Received[] = [];
  let answer: { status: number; body: object; errorType?: string } = { status: 200, body: {} };

  beforeAll(async () => {
    server = createServer((request: IncomingMessage, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        received.push({
          target: request.headers["x-amz-target"] as string | undefined,
          body: JSON.parse(body),
        });
        response
          .writeHead(answer.status, {
            "content-type": "application/x-amz-json-1.0",
            ...(answer.errorType ? { "x-amzn-errortype": answer.errorType } : {}),
          })
          .end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => (received.length = 0));

  const store = () =>
    createDynamoDbBreakerStore(
      () => "breakers",
      () => client,
    );

  it("sends GetItem and parses the item DynamoDB returns", async () => {
    answer = {
      status: 200,
      body: {
        Item: {
          circuit: { S: "car-rental" },
          state: { S: "closed" },
          consecutiveFailures: { N: "1" },
          version: { N: "4" },
        },
      },
    };
    await expect(store().get("car-rental")).resolves.toEqual({
      state: "closed",
      consecutiveFailures: 1,
      version: 4,
    });
    expect(received).toEqual([
      {
        target: "DynamoDB_20120810.GetItem",
        body: { TableName: "breakers", Key: { circuit: { S: "car-rental" } }, ConsistentRead: true },
      },
    ]);
  });

  it("sends the conditional PutItem, and DynamoDB's ConditionalCheckFailedException answer becomes StaleBreakerRecordError", async () => {
    answer = {
      status: 400,
      errorType: "ConditionalCheckFailedException",
      body: {
        __type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        message: "The conditional request failed",
      },
    };
    await expect(
      store().put(
        "car-rental",
        { state: "open", consecutiveFailures: 3, openedAt: 1_790_000_000_000, version: 5 },
        4,
      ),
    ).rejects.toBeInstanceOf(StaleBreakerRecordError);
    expect(received).toEqual([
      {
        target: "DynamoDB_20120810.PutItem",
        body: {
          TableName: "breakers",
          Item: {
            circuit: { S: "car-rental" },
            state: { S: "open" },
            consecutiveFailures: { N: "3" },
            openedAt: { N: "1790000000000" },
            version: { N: "5" },
          },
          ConditionExpression: "attribute_not_exists(circuit) OR version = :expected",
          ExpressionAttributeValues: { ":expected": { N: "4" } },
        },
      },
    ]);
  });
});
