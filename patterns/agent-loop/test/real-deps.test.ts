import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { approvalRequestKey, createRealDeps, TransientServiceError, UnreadableAnswerError } from "../src";
import { sampleOrders } from "../src/demo";

/** A back office on 127.0.0.1 that records each request and answers from a table. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
const answers = new Map<string, { status: number; body?: unknown }>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: text ? JSON.parse(text) : undefined,
      });
      const answer = answers.get(`${req.method} ${req.url}`) ?? { status: 404 };
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
  answers.clear();
});

const deps = () => createRealDeps(() => ({ backOfficeUrl: baseUrl, apiToken: async () => "secret" }));
const order = sampleOrders[0]!;

it("reads an order, and an unknown one as undefined", async () => {
  answers.set("GET /api/orders/order-1042", { status: 200, body: order });

  await expect(deps().orders.find("order-1042")).resolves.toEqual(order);
  await expect(deps().orders.find("order-9")).resolves.toBeUndefined();
  expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
    "GET /api/orders/order-1042",
    "GET /api/orders/order-9",
  ]);
  expect(seen[0]!.headers.authorization).toBe("Bearer secret");
});

it("refuses an order answer about another order than the one asked for", async () => {
  answers.set("GET /api/orders/order-1042", { status: 200, body: { ...order, orderId: "order-9999" } });
  await expect(deps().orders.find("order-1042")).rejects.toThrow(
    new UnreadableAnswerError("GET orders/order-1042 answered with another order"),
  );
});

it("raises a refund-in-doubt alert with the refund's key, so a resent alert is one alert", async () => {
  answers.set("POST /api/alerts", { status: 202 });
  const alert = {
    orderId: "order-1042",
    amountCents: 2500,
    currency: "EUR",
    idempotencyKey: "order-1042:refund-1",
    problem: "the refund payment failed: the back office is unavailable right now.",
  };
  await deps().alerts.refundInDoubt(alert);

  expect(seen).toEqual([
    expect.objectContaining({
      method: "POST",
      url: "/api/alerts",
      body: { kind: "refund-in-doubt", ...alert },
    }),
  ]);
  expect(seen[0]!.headers["idempotency-key"]).toBe("alert-order-1042:refund-1");
});

const approvalRequest = {
  callbackId: "cb-SECRET-1",
  approver: "dana",
  orderId: "order-1042",
  customerId: "cust-7",
  amountCents: 2500,
  currency: "EUR",
  reason: "damaged" as const,
  policy: { eligible: true as const, maxRefundCents: 2500, explanation: "Refunded in full." },
  priorRefunds: { totalCents: 0, refunds: [], remainingAfterCents: 0 },
  customerWrote: "Both mugs arrived cracked.",
  writtenByModel: { noteForApprover: "Items arrived damaged" },
};

it("reads the refunds already paid, and none for an unknown order", async () => {
  const refunds = [
    { refundId: "re-1", amountCents: 1000, currency: "EUR", idempotencyKey: "order-1042:refund-1" },
    { refundId: "re-2", amountCents: 500, currency: "EUR" },
  ];
  answers.set("GET /api/orders/order-1042/refunds", { status: 200, body: { refunds } });

  await expect(deps().orders.refundsPaid("order-1042")).resolves.toEqual(refunds);
  await expect(deps().orders.refundsPaid("order-9")).resolves.toEqual([]);
});

it("sends a refund with its idempotency key, and an approval request without the callback id in any header", async () => {
  answers.set("POST /api/refunds", { status: 201, body: { refundId: "re-1" } });
  answers.set("POST /api/approvals", { status: 202 });

  await expect(
    deps().payments.refund({
      orderId: "order-1042",
      amountCents: 2500,
      currency: "EUR",
      reason: "damaged",
      idempotencyKey: "order-1042:refund-1",
    }),
  ).resolves.toEqual({ refundId: "re-1" });
  await deps().approvals.requestApproval(approvalRequest);

  expect(seen.map((request) => [request.url, request.headers["idempotency-key"]])).toEqual([
    ["/api/refunds", "order-1042:refund-1"],
    ["/api/approvals", approvalRequestKey("cb-SECRET-1")],
  ]);
  expect(seen[0]!.body).toEqual({
    orderId: "order-1042",
    amountCents: 2500,
    currency: "EUR",
    reason: "damaged",
  });
  // The callback id travels only in the body the approver receives: no header, no URL carries it.
  expect(seen[1]!.body).toEqual(approvalRequest);
  for (const request of seen) {
    expect(request.url).not.toContain("cb-SECRET-1");
    expect(JSON.stringify(request.headers)).not.toContain("cb-SECRET-1");
  }
  expect(approvalRequestKey("cb-SECRET-1")).toMatch(/^approval-[0-9a-f]{32}$/);
});

it.each([429, 500, 503])("makes a %i retryable", async (status) => {
  answers.set("POST /api/refund-policy", { status });
  await expect(deps().refundPolicy.evaluate({ order, reason: "damaged" })).rejects.toBeInstanceOf(
    TransientServiceError,
  );
});

it("does not make a 400 retryable, does not echo the body, and needs a URL", async () => {
  answers.set("POST /api/refunds", { status: 400, body: { message: "amount too large" } });
  const refund = {
    orderId: "order-1042",
    amountCents: 1,
    currency: "EUR",
    reason: "damaged" as const,
    idempotencyKey: "k",
  };

  const error = await deps()
    .payments.refund(refund)
    .catch((e: unknown) => e);
  expect(error).not.toBeInstanceOf(TransientServiceError);
  expect((error as Error).message).toContain("answered 400");
  expect((error as Error).message).not.toContain("amount too large");
  await expect(createRealDeps(() => ({ backOfficeUrl: "" })).orders.find("order-1042")).rejects.toThrow(
    "BACK_OFFICE_URL is not set",
  );
});

// Every answer of the back office is parsed with a schema: never `JSON.parse(text) as T`.
describe("answers that do not fit their schema are errors naming the problem", () => {
  const rawAnswers = new Map<string, string>();
  let rawServer: Server;
  let rawUrl: string;
  beforeAll(async () => {
    rawServer = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const body = rawAnswers.get(`${req.method} ${req.url}`);
        res.writeHead(body === undefined ? 404 : 200, { "content-type": "application/json" });
        res.end(body ?? "");
      });
    });
    await new Promise<void>((resolve) => rawServer.listen(0, "127.0.0.1", resolve));
    rawUrl = `http://127.0.0.1:${(rawServer.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => rawServer.close(() => resolve())));
  beforeEach(() => rawAnswers.clear());
  const raw = () => createRealDeps(() => ({ backOfficeUrl: rawUrl }));
  const json = (value: unknown) => JSON.stringify(value);

  it.each([
    [
      "an order that is not JSON",
      "GET /orders/order-1042",
      "<html>",
      "GET orders/order-1042 answered something that is not JSON",
    ],
    [
      "an order with a string total",
      "GET /orders/order-1042",
      json({ ...order, totalCents: "2500" }),
      "totalCents must be a number",
    ],
    [
      "an order with a float total",
      "GET /orders/order-1042",
      json({ ...order, totalCents: 25.5 }),
      "totalCents must be a whole number of cents",
    ],
    [
      "an order above the maximum",
      "GET /orders/order-1042",
      json({ ...order, totalCents: 1e12 }),
      "totalCents must be at most 10000000 cents",
    ],
    ["an order that is null", "GET /orders/order-1042", "null", "input must be an object"],
    [
      "refunds with a negative amount",
      "GET /orders/order-1042/refunds",
      json({ refunds: [{ refundId: "re-1", amountCents: -5, currency: "EUR" }] }),
      "refunds[0].amountCents must be positive",
    ],
    ["refunds as a bare list", "GET /orders/order-1042/refunds", json([]), "input must be an object"],
  ])("%s", async (_label, route, body, problem) => {
    rawAnswers.set(route, body);
    const read = route.endsWith("/refunds")
      ? raw().orders.refundsPaid("order-1042")
      : raw().orders.find("order-1042");
    const error = await read.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableAnswerError);
    expect((error as Error).message).toContain(problem);
  });

  it.each([
    ["an empty object", "{}", "eligible is required"],
    [
      "an extra field that could change the meaning",
      json({ eligible: true, maxRefundCents: 2500, explanation: "ok", partial: true }),
      'Unrecognized key: "partial"',
    ],
    [
      "eligible as a string",
      json({ eligible: "yes", maxRefundCents: 2500, explanation: "ok" }),
      "eligible must be a boolean",
    ],
  ])("a policy answer with %s", async (_label, body, problem) => {
    rawAnswers.set("POST /refund-policy", body);
    const error = await raw()
      .refundPolicy.evaluate({ order, reason: "damaged" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnreadableAnswerError);
    expect((error as Error).message).toContain(problem);
  });

  it("a refund receipt it cannot read is in doubt: retryable, so the same key reads the provider's record", async () => {
    rawAnswers.set("POST /refunds", json({ id: 7 }));
    const error = await raw()
      .payments.refund({
        orderId: "order-1042",
        amountCents: 1,
        currency: "EUR",
        reason: "damaged",
        idempotencyKey: "k",
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientServiceError);
    expect((error as Error).message).toContain("refundId is required");
  });

  it("a policy service that answers 404 is an error, not a missing policy", async () => {
    await expect(raw().refundPolicy.evaluate({ order, reason: "damaged" })).rejects.toBeInstanceOf(
      UnreadableAnswerError,
    );
  });
});

describe("a failed call is told in words, from the facts, never as a serialized error", () => {
  it("a connection broken after the request was sent: it may have been acted on (retried)", async () => {
    const resetting = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => resetting.listen(0, "127.0.0.1", resolve));
    const port = (resetting.address() as AddressInfo).port;
    try {
      const error = await createRealDeps(() => ({ backOfficeUrl: `http://127.0.0.1:${port}/api/` }))
        .orders.find("order-1042")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientServiceError);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^GET http://127\\.0\\.0\\.1:${port}/api/orders/order-1042 failed: the connection broke after the request was sent: it may have been acted on \\((UND_ERR_SOCKET|ECONNRESET)\\)$`,
        ),
      );
    } finally {
      resetting.closeAllConnections();
      await new Promise<void>((resolve) => resetting.close(() => resolve()));
    }
  });

  it("a connection never made: nothing reached the back office (retried)", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await createRealDeps(() => ({ backOfficeUrl: `http://127.0.0.1:${port}/api/` }))
      .orders.find("order-1042")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientServiceError);
    expect((error as Error).message).toBe(
      `GET http://127.0.0.1:${port}/api/orders/order-1042 was not sent: the connection could not be made (ECONNREFUSED), so nothing reached the back office`,
    );
  });

  it("no answer in time: it may have been acted on (retried)", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const error = await createRealDeps(() => ({
        backOfficeUrl: `http://127.0.0.1:${port}/api/`,
        timeoutMs: 100,
      }))
        .orders.find("order-1042")
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransientServiceError);
      expect((error as Error).message).toBe(
        `GET http://127.0.0.1:${port}/api/orders/order-1042 got no answer within 100 ms: the request may have been acted on`,
      );
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it.each([401, 403])(
    "a %i names the token's setting: refused, or none sent; not retried",
    async (status) => {
      answers.set("GET /api/orders/order-1042", { status, body: { error: "no" } });
      const refused = await deps()
        .orders.find("order-1042")
        .catch((e: unknown) => e);
      expect(refused).not.toBeInstanceOf(TransientServiceError);
      expect((refused as Error).message).toMatch(
        new RegExp(
          `answered ${status}: the token from BACK_OFFICE_TOKEN_SECRET_ARN was refused \\(a new value put in the secret is used within 300 s\\)$`,
        ),
      );
      const none = await createRealDeps(() => ({ backOfficeUrl: baseUrl, apiToken: async () => undefined }))
        .orders.find("order-1042")
        .catch((e: unknown) => e);
      expect(seen.map((request) => request.headers.authorization)).toEqual(["Bearer secret", undefined]);
      expect((none as Error).message).toMatch(
        new RegExp(
          `answered ${status}: no token was sent \\(BACK_OFFICE_TOKEN_SECRET_ARN is not set, or its secret still holds the stack's placeholder\\)$`,
        ),
      );
    },
  );
});
