import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ClientError, createHttpDeps, Reservation, TransientServiceError, type HttpDepsConfig } from "../src";

// The real dependencies against a local HTTP server: what goes on the wire, and how answers become
// retryable (TransientServiceError) or final (ClientError) for the retry strategies.
interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];
let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: "{}" };

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push({
        path: request.url ?? "",
        headers: request.headers,
        body: body ? JSON.parse(body) : undefined,
      });
      setTimeout(
        () => response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body),
        answer.delayMs ?? 0,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => (received.length = 0));

const config =
  (overrides: Partial<HttpDepsConfig> = {}): (() => HttpDepsConfig) =>
  () => ({
    inventoryUrl: `${baseUrl}inventory/`,
    paymentsUrl: `${baseUrl}payments/`,
    shippingUrl: `${baseUrl}shipping/`,
    notificationsUrl: `${baseUrl}notify/`,
    apiToken: "secret-token",
    timeoutMs: 500,
    ...overrides,
  });

it("posts JSON with the idempotency key and token, and builds a Reservation with a Date", async () => {
  answer = {
    status: 201,
    body: JSON.stringify({ reservationId: "res-9", expiresAt: "2030-01-01T00:00:00.000Z" }),
  };
  const deps = createHttpDeps(config());

  const reservation = await deps.inventory.reserve({
    orderId: "order-9",
    items: [{ sku: "MUG-BLUE", quantity: 1, unitPriceCents: 100 }],
    idempotencyKey: "order-9:reserve",
  });

  expect(reservation).toBeInstanceOf(Reservation);
  expect(reservation.expiresAt).toEqual(new Date("2030-01-01T00:00:00.000Z"));
  expect(received).toEqual([
    {
      path: "/inventory/reservations",
      headers: expect.objectContaining({
        "idempotency-key": "order-9:reserve",
        authorization: "Bearer secret-token",
        "content-type": "application/json",
      }) as unknown,
      body: { orderId: "order-9", items: [{ sku: "MUG-BLUE", quantity: 1, unitPriceCents: 100 }] },
    },
  ]);
});

it.each([
  [503, TransientServiceError],
  [429, TransientServiceError],
  [500, TransientServiceError],
  [400, ClientError],
  [404, ClientError],
  [409, ClientError],
])("an answer of %d becomes a %p", async (status, errorClass) => {
  answer = { status, body: JSON.stringify({ message: "nope" }) };
  const charge = createHttpDeps(config()).payments.charge({
    orderId: "order-9",
    customerId: "c",
    amountCents: 1,
    currency: "EUR",
    idempotencyKey: "order-9:charge",
  });
  await expect(charge).rejects.toBeInstanceOf(errorClass);
  await expect(charge).rejects.toThrow(`answered ${status}`);
});

it("treats a timeout as transient", async () => {
  answer = { status: 200, body: "{}", delayMs: 300 };
  const send = createHttpDeps(config({ timeoutMs: 50 })).notifier.send({
    to: "a@example.com",
    template: "t",
    data: {},
    idempotencyKey: "k",
  });
  await expect(send).rejects.toBeInstanceOf(TransientServiceError);
});

it("refuses, as a client error, to call a service whose URL is not configured", async () => {
  const ship = createHttpDeps(config({ shippingUrl: "" })).shipping.createShipment({
    orderId: "o",
    reservationId: "r",
    shipTo: { name: "n", line1: "l", city: "c", postalCode: "p", country: "GB" },
    idempotencyKey: "o:ship",
  });
  await expect(ship).rejects.toThrow(new ClientError("No URL configured for shippingUrl", 0));
  expect(received).toEqual([]);
});
