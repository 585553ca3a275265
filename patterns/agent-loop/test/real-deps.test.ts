import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRealDeps, TransientServiceError } from "../src";
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

const deps = () => createRealDeps(() => ({ backOfficeUrl: baseUrl, apiToken: "secret" }));
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

it("sends refunds and approval requests with an idempotency key", async () => {
  answers.set("POST /api/refunds", { status: 201, body: { refundId: "re-1" } });
  answers.set("POST /api/approvals", { status: 202 });

  await expect(
    deps().payments.refund({
      orderId: "order-1042",
      amountCents: 2500,
      currency: "EUR",
      reason: "damaged",
      idempotencyKey: "k-1",
    }),
  ).resolves.toEqual({ refundId: "re-1" });
  await deps().approvals.requestApproval({
    callbackId: "cb-1",
    orderId: "order-1042",
    customerId: "cust-7",
    amountCents: 2500,
    currency: "EUR",
    reason: "damaged",
  });

  expect(seen.map((request) => [request.url, request.headers["idempotency-key"]])).toEqual([
    ["/api/refunds", "k-1"],
    ["/api/approvals", "cb-1"],
  ]);
  expect(seen[0]!.body).toEqual({
    orderId: "order-1042",
    amountCents: 2500,
    currency: "EUR",
    reason: "damaged",
  });
});

it.each([429, 500, 503])("makes a %i retryable", async (status) => {
  answers.set("POST /api/refund-policy", { status });
  await expect(deps().refundPolicy.evaluate({ order, reason: "damaged" })).rejects.toBeInstanceOf(
    TransientServiceError,
  );
});

it("does not make a 400 retryable, and needs a URL", async () => {
  answers.set("POST /api/refunds", { status: 400, body: { message: "amount too large" } });
  const refund = { orderId: "order-1042", amountCents: 1, currency: "EUR", reason: "x", idempotencyKey: "k" };

  const error = await deps()
    .payments.refund(refund)
    .catch((e: unknown) => e);
  expect(error).not.toBeInstanceOf(TransientServiceError);
  expect((error as Error).message).toContain("answered 400");
  await expect(createRealDeps(() => ({ backOfficeUrl: "" })).orders.find("order-1042")).rejects.toThrow(
    "BACK_OFFICE_URL is not set",
  );
});
