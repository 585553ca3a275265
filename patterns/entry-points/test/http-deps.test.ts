import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  ClientError,
  createHttpDeps,
  dynamoCallbackRegistry,
  PaymentDeclinedError,
  PaymentInDoubtError,
  ProviderUnavailableError,
  TransientServiceError,
} from "../src";

/**
 * The real dependencies against a provider on 127.0.0.1 that keeps its own record of every request it got
 * (method, path, idempotency key, body), and answers what the test scripts.
 */
type Reply = { status: number; body?: unknown } | "hang";
async function provider(replies: Reply[]) {
  const received: Array<{ method: string; path: string; key: string | undefined; body: unknown }> = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString();
      received.push({
        method: request.method!,
        path: request.url!,
        key: request.headers["idempotency-key"] as string | undefined,
        body: text ? JSON.parse(text) : undefined,
      });
      const reply = replies.shift() ?? { status: 500 };
      if (reply === "hang") return; // never answers: the client's timeout fires
      response.writeHead(reply.status, { "content-type": "application/json" });
      response.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const deps = createHttpDeps(() => ({
    paymentsUrl: url,
    warehouseUrl: url,
    ordersUrl: url,
    alertsUrl: url,
    callbackTable: "callbacks",
    timeoutMs: 300,
  }));
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { deps, received, close };
}

const payment = { orderId: "A-1001", amountCents: 8950, currency: "EUR", idempotencyKey: "A-1001:payment" };

describe("the payment provider over HTTP: done, not done, in doubt", () => {
  it.each<[string, Reply, unknown]>([
    [
      "201 with a payment id: done",
      { status: 201, body: { paymentId: "pay_0001" } },
      { paymentId: "pay_0001" },
    ],
    [
      "402: declined, not done",
      { status: 402, body: { reason: "insufficient_funds" } },
      PaymentDeclinedError,
    ],
    ["429: throttled, nothing done", { status: 429 }, ProviderUnavailableError],
    ["503: unavailable, nothing done", { status: 503 }, ProviderUnavailableError],
    ["500: in doubt", { status: 500 }, PaymentInDoubtError],
    ["504: in doubt", { status: 504 }, PaymentInDoubtError],
    ["no answer within the timeout: in doubt", "hang", PaymentInDoubtError],
    ["400: our request is wrong", { status: 400 }, ClientError],
    ["307: the redirect is not followed", { status: 307, body: { paymentId: "pay_elsewhere" } }, ClientError],
    ["201 without a payment id: in doubt", { status: 201, body: { ok: true } }, PaymentInDoubtError],
    [
      "201 with a malformed payment id: in doubt",
      { status: 201, body: { paymentId: 42 } },
      PaymentInDoubtError,
    ],
  ])("%s", async (_label, reply, expected) => {
    const { deps, received, close } = await provider([reply]);
    try {
      const call = deps.payments.requestPayment(payment);
      if (typeof expected === "function") await expect(call).rejects.toBeInstanceOf(expected);
      else await expect(call).resolves.toEqual(expected);
      // The provider's record: one POST, with our idempotency key, and the payment without the key.
      expect(received).toEqual([
        {
          method: "POST",
          path: "/payments",
          key: "A-1001:payment",
          body: { orderId: "A-1001", amountCents: 8950, currency: "EUR" },
        },
      ]);
    } finally {
      await close();
    }
  });

  it("the decline carries the provider's reason", async () => {
    const { deps, close } = await provider([{ status: 402, body: { reason: "insufficient_funds" } }]);
    await expect(deps.payments.requestPayment(payment)).rejects.toMatchObject({
      reason: "insufficient_funds",
    });
    await close();
  });

  it("look-up by key: the record, or none (404); a void: voided, too late (409), or nothing to void (404)", async () => {
    const { deps, received, close } = await provider([
      { status: 200, body: { status: "pending", paymentId: "pay_1" } },
      { status: 404 },
      { status: 200, body: { status: "voided" } },
      { status: 409 },
      { status: 404 },
      { status: 503 },
    ]);
    try {
      const key = { idempotencyKey: "A-1001:payment" };
      expect(await deps.payments.lookUpPayment(key)).toEqual({ status: "pending", paymentId: "pay_1" });
      expect(await deps.payments.lookUpPayment(key)).toBeUndefined();
      expect(await deps.payments.voidPayment(key)).toEqual({ status: "voided" });
      expect(await deps.payments.voidPayment(key)).toEqual({ status: "succeeded" });
      expect(await deps.payments.voidPayment(key)).toEqual({ status: "not-found" });
      await expect(deps.payments.voidPayment(key)).rejects.toBeInstanceOf(ProviderUnavailableError);
      expect(received.map(({ method, path, key: sent }) => `${method} ${path} ${sent ?? "-"}`)).toEqual([
        "GET /payments/by-key/A-1001%3Apayment -",
        "GET /payments/by-key/A-1001%3Apayment -",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
        "POST /payments/by-key/A-1001%3Apayment/void A-1001:payment:void",
      ]);
    } finally {
      await close();
    }
  });

  it("a look-up that is not a payment record is neither paid nor not paid; a shipment without an id is retried", async () => {
    const { deps, close } = await provider([
      { status: 200, body: { status: "captured-ish", paymentId: "pay_1" } },
      { status: 200, body: "ok" },
      { status: 201, body: {} },
    ]);
    try {
      await expect(deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" })).rejects.toBeInstanceOf(
        PaymentInDoubtError,
      );
      await expect(deps.payments.lookUpPayment({ idempotencyKey: "A-1001:payment" })).rejects.toBeInstanceOf(
        PaymentInDoubtError,
      );
      await expect(
        deps.warehouse.ship({ orderId: "A-1001", items: [], idempotencyKey: "A-1001:ship" }),
      ).rejects.toBeInstanceOf(TransientServiceError);
    } finally {
      await close();
    }
  });

  it("the warehouse and the order store: 5xx and 429 are transient, 4xx is not", async () => {
    const { deps, received, close } = await provider([
      { status: 201, body: { shipmentId: "shp_1" } },
      { status: 502 },
      { status: 204 },
      { status: 422 },
    ]);
    try {
      const items = [{ sku: "KETTLE-01", quantity: 1 }];
      expect(await deps.warehouse.ship({ orderId: "A-1001", items, idempotencyKey: "A-1001:ship" })).toEqual({
        shipmentId: "shp_1",
      });
      await expect(
        deps.warehouse.ship({ orderId: "A-1001", items, idempotencyKey: "A-1001:ship" }),
      ).rejects.toBeInstanceOf(TransientServiceError);
      await deps.orders.cancel({ orderId: "A-1001", reason: "declined", idempotencyKey: "A-1001:cancel" });
      await expect(
        deps.orders.cancel({ orderId: "A-1001", reason: "declined", idempotencyKey: "A-1001:cancel" }),
      ).rejects.toBeInstanceOf(ClientError);
      expect(received.map(({ path, key }) => `${path} ${key}`)).toEqual([
        "/shipments A-1001:ship",
        "/shipments A-1001:ship",
        "/orders/A-1001/cancel A-1001:cancel",
        "/orders/A-1001/cancel A-1001:cancel",
      ]);
    } finally {
      await close();
    }
  });

  it("an alert is posted with its key; a 5xx from the alerting endpoint is transient", async () => {
    const { deps, received, close } = await provider([{ status: 202 }, { status: 503 }]);
    try {
      const alert = {
        orderId: "A-1001",
        kind: "PaidNotShippedError",
        problem: "paid, not shipped",
        idempotencyKey: "A-1001:alert",
      };
      await deps.alerts.raise(alert);
      await expect(deps.alerts.raise(alert)).rejects.toBeInstanceOf(TransientServiceError);
      expect(received[0]).toEqual({
        method: "POST",
        path: "/alerts",
        key: "A-1001:alert",
        body: { orderId: "A-1001", kind: "PaidNotShippedError", problem: "paid, not shipped" },
      });
    } finally {
      await close();
    }
  });

  it("a missing URL is a clear error, not a request to nowhere", async () => {
    const deps = createHttpDeps(() => ({
      paymentsUrl: "",
      warehouseUrl: "",
      ordersUrl: "",
      alertsUrl: "",
      callbackTable: "",
    }));
    await expect(deps.payments.requestPayment(payment)).rejects.toThrow("No paymentsUrl configured");
  });
});

describe("the callback registry on DynamoDB", () => {
  /** A table that keeps its items, as DynamoDB would, and fails when told to. */
  function table() {
    const items = new Map<string, Record<string, { S?: string; N?: string }>>();
    let failNext = false;
    const send = async (command: unknown): Promise<unknown> => {
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error("Throughput exceeded for item cb-secret-1"), {
          name: "ProvisionedThroughputExceededException",
        });
      }
      if (command instanceof PutItemCommand) {
        const item = command.input.Item!;
        items.set(item.orderId!.S!, item);
        return {};
      }
      if (command instanceof GetItemCommand) {
        expect(command.input.ConsistentRead).toBe(true);
        return { Item: items.get(command.input.Key!.orderId!.S!) };
      }
      throw new Error("unexpected command");
    };
    return { items, send, failOnce: () => (failNext = true) };
  }

  it("registers order id -> callback id with an expiry, and finds it again", async () => {
    const dynamo = table();
    const registry = dynamoCallbackRegistry(() => "callbacks", dynamo);
    await registry.register({ orderId: "A-1001", callbackId: "cb-secret-1" });
    // A retried step writes the same item again: still one item.
    await registry.register({ orderId: "A-1001", callbackId: "cb-secret-1" });

    expect(await registry.find("A-1001")).toBe("cb-secret-1");
    expect(await registry.find("A-404")).toBeUndefined();
    expect(dynamo.items.size).toBe(1);
    expect(Number(dynamo.items.get("A-1001")!.expiresAt!.N)).toBeGreaterThan(Date.now() / 1000);
  });

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

  it("a failure is transient and never quotes the item, which holds the callback id", async () => {
    const dynamo = table();
    const registry = dynamoCallbackRegistry(() => "callbacks", dynamo);
    dynamo.failOnce();
    const failure = registry.register({ orderId: "A-1001", callbackId: "cb-secret-1" });
    await expect(failure).rejects.toBeInstanceOf(TransientServiceError);
    await expect(failure).rejects.toThrow("callback registry: ProvisionedThroughputExceededException");
  });

  it("no table configured is a clear error", async () => {
    const registry = dynamoCallbackRegistry(() => "", table());
    await expect(registry.find("A-1001")).rejects.toThrow(
      "No callback table configured (CALLBACK_TABLE_NAME)",
    );
  });
});
