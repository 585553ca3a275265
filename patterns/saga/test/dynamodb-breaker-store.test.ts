import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import dynalite from "dynalite";
import {
  BreakerTableError,
  CAR_CIRCUIT,
  CorruptBreakerRecordError,
  claimTrial,
  createDynamoDbBreakerStore,
  createRealDeps,
  StaleBreakerRecordError,
  type BreakerRecord,
  type BreakerStore,
} from "../src";
import { sampleTrip, simulatedConfig, simulatedWorld, type SimulatedWorld } from "../src/demo";
import { runTrip } from "./helpers";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The breaker store against a real DynamoDB implementation: dynalite, in this process and in memory, on
// 127.0.0.1 and an ephemeral port, through the real DynamoDBClient. What dynalite cannot produce (throttling, an
// internal error, a timeout) comes from aws-sdk-client-mock on one DynamoDBClient instance.

let server: Server;
let client: DynamoDBClient;
/** What the store sent, as the client's first middleware saw it: the command's name and input. */
const sent: { command: string; input: unknown }[] = [];
let tables = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: String(context.commandName), input: structuredClone(args.input) });
      return next(args);
    },
    { step: "initialize", name: "recordSent" },
  );
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => (sent.length = 0));

/** A new table, with the key schema the stack gives it: partition key `circuit`, a string. */
async function newTable(): Promise<string> {
  tables += 1;
  const TableName = `breakers-${tables}`;
  await client.send(
    new CreateTableCommand({
      TableName,
      KeySchema: [{ AttributeName: "circuit", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "circuit", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  sent.length = 0;
  return TableName;
}

const storeOn = (table: string, dynamo: DynamoDBClient = client) =>
  createDynamoDbBreakerStore(
    () => table,
    () => dynamo,
  );

/** The item as DynamoDB holds it, read around the store. */
async function storedItem(table: string, circuit = CAR_CIRCUIT) {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { circuit: { S: circuit } }, ConsistentRead: true }),
  );
  return Item;
}

describe("DynamoDB breaker store, against dynalite", () => {
  it("has no record before the first write (the first write then expects version 0)", async () => {
    const table = await newTable();
    await expect(storeOn(table).get(CAR_CIRCUIT)).resolves.toBeUndefined();
  });

  it("writes a first record and reads it back, asking for a strongly consistent read", async () => {
    const table = await newTable();
    const store = storeOn(table);
    const record: BreakerRecord = { state: "closed", consecutiveFailures: 1, version: 1 };

    await store.put(CAR_CIRCUIT, record, 0);
    await expect(store.get(CAR_CIRCUIT)).resolves.toEqual(record);

    expect(sent).toEqual([
      {
        command: "PutItemCommand",
        input: {
          TableName: table,
          Item: {
            circuit: { S: CAR_CIRCUIT },
            state: { S: "closed" },
            consecutiveFailures: { N: "1" },
            version: { N: "1" },
          },
          ConditionExpression: "attribute_not_exists(circuit) OR version = :expected",
          ExpressionAttributeValues: { ":expected": { N: "0" } },
        },
      },
      {
        command: "GetItemCommand",
        input: { TableName: table, Key: { circuit: { S: CAR_CIRCUIT } }, ConsistentRead: true },
      },
    ]);
    // A closed record has no openedAt or trial attributes at all.
    await expect(storedItem(table)).resolves.toEqual({
      circuit: { S: CAR_CIRCUIT },
      state: { S: "closed" },
      consecutiveFailures: { N: "1" },
      version: { N: "1" },
    });
  });

  it("writes the whole record conditional on the version read, and reads a claimed trial back", async () => {
    const table = await newTable();
    const store = storeOn(table);
    const open: BreakerRecord = {
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      version: 4,
    };
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          circuit: { S: CAR_CIRCUIT },
          state: { S: "open" },
          consecutiveFailures: { N: "3" },
          openedAt: { N: "1790000000000" },
          version: { N: "4" },
        },
      }),
    );
    await expect(store.get(CAR_CIRCUIT)).resolves.toEqual(open);

    const claimed = claimTrial(open, 1_790_000_400_000, "5f0c2a9be1d4");
    await store.put(CAR_CIRCUIT, claimed, 4);

    await expect(store.get(CAR_CIRCUIT)).resolves.toEqual({
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      trialStartedAt: 1_790_000_400_000,
      trialClaimedBy: "5f0c2a9be1d4",
      version: 5,
    });
    await expect(storedItem(table)).resolves.toEqual({
      circuit: { S: CAR_CIRCUIT },
      state: { S: "open" },
      consecutiveFailures: { N: "3" },
      openedAt: { N: "1790000000000" },
      trialStartedAt: { N: "1790000400000" },
      trialClaimedBy: { S: "5f0c2a9be1d4" },
      version: { N: "5" },
    });
  });

  it("reads an item without the numbers as 0 (an item written by hand, or by an older version)", async () => {
    const table = await newTable();
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { circuit: { S: CAR_CIRCUIT }, state: { S: "closed" } },
      }),
    );
    await expect(storeOn(table).get(CAR_CIRCUIT)).resolves.toEqual({
      state: "closed",
      consecutiveFailures: 0,
      version: 0,
    });
  });

  it.each<[string, Record<string, AttributeValue>, string]>([
    [
      "a state and numbers that are not what it writes",
      { state: { S: "garbage" }, consecutiveFailures: { S: "many" }, version: { S: "x" } },
      "state is neither open nor closed, consecutiveFailures is not a whole number, version is not a whole number",
    ],
    [
      "a negative version",
      { state: { S: "closed" }, consecutiveFailures: { N: "0" }, version: { N: "-1" } },
      "version is not a whole number",
    ],
    [
      "a fractional count",
      { state: { S: "open" }, consecutiveFailures: { N: "1.5" }, version: { N: "2" } },
      "consecutiveFailures is not a whole number",
    ],
    [
      "a trial claimant that is not a string",
      { state: { S: "open" }, version: { N: "2" }, trialClaimedBy: { N: "7" } },
      "trialClaimedBy is not a string",
    ],
  ])(
    "an item with %s is reported as corrupt, naming the table and the circuit, never read as no record",
    async (_label, attributes, problems) => {
      const table = await newTable();
      await client.send(
        new PutItemCommand({ TableName: table, Item: { circuit: { S: CAR_CIRCUIT }, ...attributes } }),
      );

      const read = storeOn(table).get(CAR_CIRCUIT);
      await expect(read).rejects.toBeInstanceOf(CorruptBreakerRecordError);
      await expect(read).rejects.toThrow(
        `the breaker record for circuit ${CAR_CIRCUIT} in table ${table} (BREAKER_TABLE_NAME) is corrupt: ${problems}; ` +
          "left as it is: fix or delete the item",
      );
    },
  );

  it("of two writers with the same expected version, one wins; the other gets StaleBreakerRecordError", async () => {
    const table = await newTable();
    const [first, second] = [storeOn(table), storeOn(table)];
    const open: BreakerRecord = {
      state: "open",
      consecutiveFailures: 3,
      openedAt: 1_790_000_000_000,
      version: 1,
    };
    await first.put(CAR_CIRCUIT, open, 0);

    // Two bookings read version 1 and each claims the half-open trial at the same moment.
    const read = [await first.get(CAR_CIRCUIT), await second.get(CAR_CIRCUIT)];
    expect(read).toEqual([open, open]);
    const claims = [
      claimTrial(open, 1_790_000_400_000, "booking-a"),
      claimTrial(open, 1_790_000_400_001, "booking-b"),
    ];
    const outcomes = await Promise.allSettled([
      first.put(CAR_CIRCUIT, claims[0]!, 1),
      second.put(CAR_CIRCUIT, claims[1]!, 1),
    ]);

    const won = outcomes.findIndex((outcome) => outcome.status === "fulfilled");
    const lost = outcomes.find((outcome) => outcome.status === "rejected");
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    expect(lost?.reason).toBeInstanceOf(StaleBreakerRecordError);
    expect((lost?.reason as Error).message).toBe("The breaker record changed since it was read");
    // The stored record is the winner's.
    await expect(first.get(CAR_CIRCUIT)).resolves.toEqual(claims[won]);
  });

  it("of two first writers (both expecting no record), one wins", async () => {
    const table = await newTable();
    const failure = (n: number): BreakerRecord => ({ state: "closed", consecutiveFailures: n, version: 1 });
    const outcomes = await Promise.allSettled([
      storeOn(table).put(CAR_CIRCUIT, failure(1), 0),
      storeOn(table).put(CAR_CIRCUIT, failure(2), 0),
    ]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["fulfilled", "rejected"]);
    const won = outcomes.findIndex((outcome) => outcome.status === "fulfilled");
    expect((outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult).reason).toBeInstanceOf(
      StaleBreakerRecordError,
    );
    await expect(storeOn(table).get(CAR_CIRCUIT)).resolves.toEqual(failure(won + 1));
  });

  it("a table that does not exist is a clear error naming BREAKER_TABLE_NAME, for reads and writes", async () => {
    const store = storeOn("no-such-breakers");
    const message =
      "the breaker table in BREAKER_TABLE_NAME (no-such-breakers) does not exist in this account and region " +
      "(ResourceNotFoundException): check BREAKER_TABLE_NAME and the function's region";
    const read = store.get(CAR_CIRCUIT);
    await expect(read).rejects.toBeInstanceOf(BreakerTableError);
    await expect(read).rejects.toThrow(message);
    const write = store.put(CAR_CIRCUIT, { state: "closed", consecutiveFailures: 1, version: 1 }, 0);
    await expect(write).rejects.toBeInstanceOf(BreakerTableError);
    await expect(write).rejects.toThrow(message);
  });

  it("fails without a table name, before calling DynamoDB", async () => {
    const store = storeOn("");
    await expect(store.get(CAR_CIRCUIT)).rejects.toThrow(
      new BreakerTableError("BREAKER_TABLE_NAME is not set"),
    );
    await expect(
      store.put(CAR_CIRCUIT, { state: "closed", consecutiveFailures: 0, version: 1 }, 0),
    ).rejects.toThrow("BREAKER_TABLE_NAME is not set");
    expect(sent).toEqual([]);
  });

  it("is what createRealDeps wires up, reading BREAKER_TABLE_NAME when called", async () => {
    const table = await newTable();
    const saved = process.env.BREAKER_TABLE_NAME;
    const deps = createRealDeps(undefined, () => client);
    try {
      delete process.env.BREAKER_TABLE_NAME;
      await expect(deps.breakerStore.get(CAR_CIRCUIT)).rejects.toThrow("BREAKER_TABLE_NAME is not set");
      expect(sent).toEqual([]);

      process.env.BREAKER_TABLE_NAME = table;
      await deps.breakerStore.put(CAR_CIRCUIT, { state: "closed", consecutiveFailures: 1, version: 1 }, 0);
      await expect(deps.breakerStore.get(CAR_CIRCUIT)).resolves.toMatchObject({ version: 1 });
      expect(sent.map((command) => (command.input as { TableName: string }).TableName)).toEqual([
        table,
        table,
      ]);
    } finally {
      if (saved === undefined) delete process.env.BREAKER_TABLE_NAME;
      else process.env.BREAKER_TABLE_NAME = saved;
    }
  });
});

describeLocal("the car breaker, end to end, with its state in dynalite", () => {
  beforeAll(() => setupTestEnvironment({ skipTime: true }));
  afterAll(() => teardownTestEnvironment());

  /** The simulated providers, with the breaker's record in a real table. */
  const withStore = (world: SimulatedWorld, breakerStore: BreakerStore): SimulatedWorld => ({
    ...world,
    deps: { ...world.deps, breakerStore },
  });

  it("an outage in one execution opens the circuit; the next execution skips the car; after the cool-down one trial closes it", async () => {
    const table = await newTable();
    // The car rental is down for the first booking's two attempts, then back.
    const world = simulatedWorld({ faults: { "cars.reserve": ["unavailable", "unavailable"] } });
    const saga = withStore(world, storeOn(table));
    const config = simulatedConfig({ carBreaker: { failureThreshold: 1, coolDownMs: 60 * 60 * 1000 } });

    const first = await runTrip(saga, { payload: sampleTripFor("trip-a"), config });
    expect(first.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(first.result.getResult()?.car).toEqual({
      status: "SKIPPED",
      reason: "car rental unavailable; circuit opened after 1 failures",
    });
    expect(world.callsTo("cars.reserve")).toBe(2);
    const opened = await storeOn(table).get(CAR_CIRCUIT);
    expect(opened).toMatchObject({ state: "open", consecutiveFailures: 1, version: 1 });

    // Another execution, another sandbox's view: it reads the open circuit from the table and never calls.
    const second = await runTrip(saga, { payload: sampleTripFor("trip-b"), config });
    expect(second.result.getResult()).toMatchObject({
      status: "CONFIRMED",
      car: { status: "SKIPPED", reason: "car rental circuit is open after 1 failures" },
    });
    expect(world.callsTo("cars.reserve")).toBe(2);
    await expect(storeOn(table).get(CAR_CIRCUIT)).resolves.toEqual(opened);

    // Past the cool-down: one trial, claimed by a conditional write, reserves the car and closes the circuit.
    const afterCoolDown = simulatedConfig({ carBreaker: { failureThreshold: 1, coolDownMs: 0 } });
    const third = await runTrip(saga, { payload: sampleTripFor("trip-c"), config: afterCoolDown });
    expect(third.result.getResult()).toMatchObject({
      status: "CONFIRMED",
      car: { status: "RESERVED", reservationId: "CR-trip-c" },
    });
    expect(third.names).toContain("close-car-circuit");
    expect(world.callsTo("cars.reserve")).toBe(3);
    await expect(storeOn(table).get(CAR_CIRCUIT)).resolves.toEqual({
      state: "closed",
      consecutiveFailures: 0,
      version: 3,
    });
  });

  it("a corrupt record never fails the booking: reported as side work by the check and by the write, and left as it is", async () => {
    const table = await newTable();
    const corrupt = {
      circuit: { S: CAR_CIRCUIT },
      state: { S: "garbage" },
      consecutiveFailures: { S: "many" },
      version: { S: "x" },
    };
    await client.send(new PutItemCommand({ TableName: table, Item: corrupt }));
    sent.length = 0;
    // The car rental is down: the booking goes on without a car and tries to count the failure.
    const world = simulatedWorld({ down: ["cars.reserve"] });

    const run = await runTrip(withStore(world, storeOn(table)), { payload: sampleTripFor("trip-corrupt") });

    expect(run.result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const failures = run.result.getResult()?.sideWorkFailures ?? [];
    expect(failures.map((failure) => failure.operation)).toEqual(["check-car-circuit", "record-car-failure"]);
    for (const failure of failures)
      expect(failure.reason).toContain(`circuit ${CAR_CIRCUIT} in table ${table}`);
    // Never overwritten blindly: the item is as it was, for a person to fix.
    await expect(storedItem(table)).resolves.toEqual(corrupt);
    expect(sent.filter((request) => request.command === "PutItemCommand")).toEqual([]);
    expect(world.held()).toHaveLength(2); // flight and hotel; the car was released by its key
  });

  it("a throttled table never fails the booking: the read is taken as closed and recorded as side work", async () => {
    const throttledClient = new DynamoDBClient({ region: "eu-west-1" });
    const dynamo = mockClient(throttledClient);
    dynamo
      .on(GetItemCommand)
      .rejects(
        new ProvisionedThroughputExceededException({ message: "Rate of requests exceeds", $metadata: {} }),
      );
    const world = simulatedWorld();
    try {
      const run = await runTrip(withStore(world, storeOn("breakers", throttledClient)), {
        payload: sampleTripFor("trip-t"),
      });
      expect(run.result.getResult()).toMatchObject({
        status: "CONFIRMED",
        car: { status: "RESERVED" },
        sideWorkFailures: [
          { operation: "check-car-circuit", reason: "unreadable, taken as closed: Rate of requests exceeds" },
        ],
      });
      expect(world.held()).toHaveLength(3);
      expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(1);
    } finally {
      dynamo.restore();
      throttledClient.destroy();
    }
  });
});

describe("DynamoDB errors dynalite cannot produce (aws-sdk-client-mock), passed through unchanged", () => {
  const timeout = () =>
    Object.assign(new Error("Connection timed out after 1000 ms"), { name: "TimeoutError" });
  it.each<[string, () => Error]>([
    [
      "throttling",
      () =>
        new ProvisionedThroughputExceededException({ message: "Rate of requests exceeds", $metadata: {} }),
    ],
    [
      "an internal error (500)",
      () => new InternalServerError({ message: "Internal server error", $metadata: {} }),
    ],
    [
      "a 500 the SDK knows only by status",
      () =>
        new DynamoDBServiceException({
          name: "ServiceUnavailable",
          $fault: "server",
          message: "unavailable",
          $metadata: { httpStatusCode: 500 },
        }),
    ],
    ["a timeout", timeout],
  ])("%s, on a read and on a write", async (_label, failure) => {
    const mockedClient = new DynamoDBClient({ region: "eu-west-1" });
    const dynamo = mockClient(mockedClient);
    const [onRead, onWrite] = [failure(), failure()];
    dynamo.on(GetItemCommand).rejects(onRead).on(PutItemCommand).rejects(onWrite);
    try {
      const store = storeOn("breakers", mockedClient);
      await expect(store.get(CAR_CIRCUIT)).rejects.toBe(onRead);
      await expect(
        store.put(CAR_CIRCUIT, { state: "closed", consecutiveFailures: 1, version: 1 }, 0),
      ).rejects.toBe(onWrite);
      expect(dynamo.commandCalls(GetItemCommand)[0]?.args[0].input).toEqual({
        TableName: "breakers",
        Key: { circuit: { S: CAR_CIRCUIT } },
        ConsistentRead: true,
      });
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(1);
    } finally {
      dynamo.restore();
      mockedClient.destroy();
    }
  });
});

describe("the DynamoDB client module", () => {
  it("is loaded on first use, not when the handler is imported, and makes one client per sandbox", async () => {
    const record = { evaluated: 0, clients: 0, sent: [] as string[], configs: [] as unknown[] };
    const savedTable = process.env.BREAKER_TABLE_NAME;
    process.env.BREAKER_TABLE_NAME = "breakers";
    await jest
      .isolateModulesAsync(async () => {
        // The real module, counted: when it is evaluated and how many clients are made. Each client is answered
        // by aws-sdk-client-mock, so nothing leaves the process.
        jest.doMock("@aws-sdk/client-dynamodb", () => {
          record.evaluated += 1;
          const actual =
            jest.requireActual<typeof import("@aws-sdk/client-dynamodb")>("@aws-sdk/client-dynamodb");
          class CountedClient extends actual.DynamoDBClient {
            constructor(...args: ConstructorParameters<typeof actual.DynamoDBClient>) {
              super(...args);
              record.clients += 1;
              record.configs.push(args[0]);
              const mocked = mockClient(this);
              mocked.onAnyCommand().callsFake((input: object) => {
                record.sent.push("Item" in input ? "PutItem" : "GetItem");
                return {};
              });
            }
          }
          return { ...actual, DynamoDBClient: CountedClient };
        });
        const module = await import("../src/index");
        expect(typeof module.handler).toBe("function");
        expect(record.evaluated).toBe(0);

        const { breakerStore } = module.createRealDeps();
        await breakerStore.get(CAR_CIRCUIT);
        await breakerStore.put(CAR_CIRCUIT, { state: "closed", consecutiveFailures: 0, version: 1 }, 0);
      })
      .finally(() => {
        jest.dontMock("@aws-sdk/client-dynamodb");
        if (savedTable === undefined) delete process.env.BREAKER_TABLE_NAME;
        else process.env.BREAKER_TABLE_NAME = savedTable;
      });
    // One client, made with connection and request timeouts: a DynamoDB that never answers cannot hang a step.
    expect(record).toEqual({
      evaluated: 1,
      clients: 1,
      sent: ["GetItem", "PutItem"],
      configs: [
        {
          requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
          maxAttempts: 2,
        },
      ],
    });
  });
});

function sampleTripFor(bookingId: string) {
  return { ...sampleTrip, bookingId };
}
