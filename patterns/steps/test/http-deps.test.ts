import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ClientError,
  createHttpDeps,
  OutcomeInDoubtError,
  outcomeOf,
  Reservation,
  SettingError,
  TransientServiceError,
  type HttpDepsConfig,
} from "../src";

// The real dependencies against a local HTTP server: what goes on the wire, and how each answer and each
// network failure becomes done, not done (ClientError for good, TransientServiceError for now) or in doubt
// (OutcomeInDoubtError), as src/call-outcome.ts classifies them.
interface Received {
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];
let answer: { status: number; body: string; delayMs?: number; reset?: boolean } = { status: 200, body: "{}" };

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
      // A reset: the request arrived, and the connection dies before any answer.
      if (answer.reset) return void request.socket.destroy();
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

const chargeRequest = {
  orderId: "order-9",
  customerId: "c",
  amountCents: 1,
  currency: "EUR",
  idempotencyKey: "order-9:charge",
};
const reserveRequest = {
  orderId: "order-9",
  items: [{ sku: "MUG-BLUE", quantity: 1, unitPriceCents: 100 }],
  idempotencyKey: "order-9:reserve",
};

// Each status through the real client, for a provider whose contract says a 503 took no action (the inventory)
// and for one whose contract does not (the payment gateway).
describe.each([
  ["the inventory", () => createHttpDeps(config()).inventory.reserve(reserveRequest), TransientServiceError],
  ["the payment gateway", () => createHttpDeps(config()).payments.charge(chargeRequest), OutcomeInDoubtError],
])("answers from %s", (_provider, send, on503) => {
  it.each([
    [400, ClientError, "not-done"],
    [401, ClientError, "not-done"],
    [402, ClientError, "not-done"],
    [403, ClientError, "not-done"],
    [404, ClientError, "not-done"],
    [409, ClientError, "not-done"],
    [422, ClientError, "not-done"],
    [429, TransientServiceError, "not-done"],
    [500, OutcomeInDoubtError, "in-doubt"],
    [502, OutcomeInDoubtError, "in-doubt"],
    [503, on503, on503 === TransientServiceError ? "not-done" : "in-doubt"],
    [504, OutcomeInDoubtError, "in-doubt"],
  ])("%d becomes a %p (%s)", async (status, errorClass, outcome) => {
    answer = { status, body: JSON.stringify({ message: "nope" }) };
    const error = await send().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(errorClass);
    expect(outcomeOf(error)).toBe(outcome);
    expect((error as Error).message).toContain(`answered ${status}`);
  });
});

it.each([
  ["not JSON", "<html>OK</html>"],
  ["a missing field", JSON.stringify({ id: "ch-1" })],
  ["an empty id", JSON.stringify({ chargeId: "" })],
  ["no body", ""],
])("a 2xx with a malformed body (%s) is in doubt: the provider may have acted", async (_label, body) => {
  answer = { status: 201, body };
  const charge = createHttpDeps(config()).payments.charge(chargeRequest);
  await expect(charge).rejects.toBeInstanceOf(OutcomeInDoubtError);
  await expect(charge).rejects.toThrow("answered 201 with a malformed body");
});

it("a timeout is in doubt: the provider may still act on the request", async () => {
  answer = { status: 200, body: "{}", delayMs: 300 };
  const send = createHttpDeps(config({ timeoutMs: 50 })).notifier.send({
    to: "a@example.com",
    template: "t",
    data: {},
    idempotencyKey: "k",
  });
  await expect(send).rejects.toBeInstanceOf(OutcomeInDoubtError);
  await expect(send).rejects.toThrow("timed out: the provider may have acted");
});

it("a connection reset after the request was sent is in doubt", async () => {
  answer = { status: 200, body: "{}", reset: true };
  const charge = createHttpDeps(config()).payments.charge(chargeRequest);
  await expect(charge).rejects.toBeInstanceOf(OutcomeInDoubtError);
  await expect(charge).rejects.toThrow("the request may have arrived");
  expect(received.map((request) => request.path)).toContain("/payments/charges"); // it did arrive
});

it("a refused connection is not done: nothing was sent, so it may be retried", async () => {
  // A port that was just free: nobody listens there.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  const charge = createHttpDeps(config({ paymentsUrl: `http://127.0.0.1:${port}/` })).payments.charge(
    chargeRequest,
  );
  await expect(charge).rejects.toBeInstanceOf(TransientServiceError);
  await expect(charge).rejects.toThrow("ECONNREFUSED: the request was never sent");
});

describe("the look-up and the compensation", () => {
  it("finds a charge by its idempotency key, and answers null when the gateway holds none", async () => {
    const deps = createHttpDeps(config());
    answer = { status: 200, body: JSON.stringify({ chargeId: "ch-9", amountCents: 1, currency: "EUR" }) };
    await expect(deps.payments.findCharge({ idempotencyKey: "order-9:charge" })).resolves.toEqual({
      chargeId: "ch-9",
      amountCents: 1,
      currency: "EUR",
    });
    // The gateway's "none" names the key asked for (a proxy's 404 would not: see the next test).
    answer = { status: 404, body: JSON.stringify({ idempotencyKey: "order-9:charge" }) };
    await expect(deps.payments.findCharge({ idempotencyKey: "order-9:charge" })).resolves.toBeNull();
    expect(received.map((request) => request.path)).toEqual([
      "/payments/charges?idempotencyKey=order-9%3Acharge",
      "/payments/charges?idempotencyKey=order-9%3Acharge",
    ]);
    expect(received[0]!.headers.authorization).toBe("Bearer secret-token");
  });

  it.each([
    ["a proxy's HTML page", "<html>Not Found</html>"],
    ["a JSON 404 that does not name the key", JSON.stringify({ message: "Not Found" })],
    ["a 404 naming another key", JSON.stringify({ idempotencyKey: "order-8:charge" })],
  ])("a look-up 404 with %s is in doubt, never 'no charge'", async (_what, body) => {
    answer = { status: 404, body };
    const lookUp = createHttpDeps(config()).payments.findCharge({ idempotencyKey: "order-9:charge" });
    await expect(lookUp).rejects.toBeInstanceOf(OutcomeInDoubtError);
    await expect(lookUp).rejects.toThrow(`which is not the gateway's "no charge" answer`);
  });

  it("a look-up that fails is still a failure, not an answer: a 500 is in doubt, never 'no charge'", async () => {
    answer = { status: 500, body: "oops" };
    const lookUp = createHttpDeps(config()).payments.findCharge({ idempotencyKey: "order-9:charge" });
    await expect(lookUp).rejects.toBeInstanceOf(OutcomeInDoubtError);
  });

  it("releases stock by the reservation's key, with its own idempotency key", async () => {
    answer = { status: 204, body: "" };
    await createHttpDeps(config()).inventory.release({
      orderId: "order-9",
      reservationKey: "order-9:reserve",
      idempotencyKey: "order-9:release",
    });
    expect(received).toEqual([
      {
        path: "/inventory/releases",
        headers: expect.objectContaining({ "idempotency-key": "order-9:release" }) as unknown,
        body: { orderId: "order-9", reservationKey: "order-9:reserve" },
      },
    ]);
  });
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

describe.each([
  ["without a trailing slash", ""],
  ["with a trailing slash", "/"],
])("every call keeps the base URL's path, %s", (_what, slash) => {
  it("reaches <base path>/<route> for each of the six calls, with the key and the token", async () => {
    const deps = createHttpDeps(
      config({
        inventoryUrl: `${baseUrl}api/inventory${slash}`,
        paymentsUrl: `${baseUrl}api/v2/payments${slash}`,
        shippingUrl: `${baseUrl}shipping${slash}`,
        notificationsUrl: `${baseUrl}notify/messaging${slash}`,
      }),
    );
    const send = async (status: number, body: unknown, request: () => Promise<unknown>) => {
      answer = { status, body: JSON.stringify(body) };
      await request();
    };
    const later = "2030-01-01T00:00:00.000Z";
    await send(201, { reservationId: "res-1", expiresAt: later }, () =>
      deps.inventory.reserve(reserveRequest),
    );
    await send(200, {}, () =>
      deps.inventory.release({
        orderId: "order-9",
        reservationKey: "k:reserve",
        idempotencyKey: "k:release",
      }),
    );
    await send(200, { chargeId: "ch-1", amountCents: 1, currency: "EUR" }, () =>
      deps.payments.findCharge({ idempotencyKey: "order-9:charge" }),
    );
    await send(201, { chargeId: "ch-1", amountCents: 1, currency: "EUR" }, () =>
      deps.payments.charge(chargeRequest),
    );
    await send(201, { trackingNumber: "T1", carrier: "C" }, () =>
      deps.shipping.createShipment({
        orderId: "order-9",
        reservationId: "res-1",
        shipTo: { name: "n", line1: "l", city: "c", postalCode: "p", country: "GB" },
        idempotencyKey: "order-9:ship",
      }),
    );
    await send(202, {}, () =>
      deps.notifier.send({ to: "a@example.com", template: "t", data: {}, idempotencyKey: "order-9:email" }),
    );
    expect(received.map((request) => request.path)).toEqual([
      "/api/inventory/reservations",
      "/api/inventory/releases",
      "/api/v2/payments/charges?idempotencyKey=order-9%3Acharge",
      "/api/v2/payments/charges",
      "/shipping/shipments",
      "/notify/messaging/messages",
    ]);
    expect(received.map((request) => request.headers.authorization)).toEqual(
      Array<string>(6).fill("Bearer secret-token"),
    );
    expect(received.map((request) => request.headers["idempotency-key"])).toEqual([
      "order-9:reserve",
      "k:release",
      undefined, // the look-up changes nothing: its key is in the query
      "order-9:charge",
      "order-9:ship",
      "order-9:email",
    ]);
  });
});

describe("a URL that cannot be called as configured: a SettingError naming the variable, nothing sent", () => {
  it.each([
    [
      "credentials in it",
      (url: string) => url.replace("http://", "http://user:pa55@"),
      "must not contain credentials",
    ],
    ["not http(s)", () => "ftp://127.0.0.1/payments", "must be http(s)"],
    ["not a URL", () => "payments.internal", "is not a URL"],
    ["a key in its query", (url: string) => `${url}?code=FnKey42`, "must not have a query or fragment"],
    [
      "plain http to another machine",
      () => "http://payments.example/pay",
      "must be https (http only for localhost)",
    ],
  ])("%s", async (_what, makeUrl, message) => {
    const charge = createHttpDeps(config({ paymentsUrl: makeUrl(`${baseUrl}payments`) })).payments.charge(
      chargeRequest,
    );
    const error = (await charge.catch((failure: unknown) => failure)) as SettingError;
    expect(error).toBeInstanceOf(SettingError);
    expect(error).toBeInstanceOf(ClientError); // not done, for good
    expect(error).toMatchObject({
      name: "SettingError",
      setting: "PAYMENTS_API_URL",
      retryable: false,
      status: 0,
    });
    expect(error.message).toContain(`PAYMENTS_API_URL (paymentsUrl): the service's base URL ${message}`);
    expect(error.message).not.toContain("pa55");
    expect(error.message).not.toContain("FnKey42");
    expect(outcomeOf(error)).toBe("not-done");
    expect(received).toEqual([]);
  });
});

it("an error body of 1 MB with newlines, ANSI escapes and the token echoed becomes a short one-line message without the token", async () => {
  const echoed = `\u001b[31mdeclined\u001b[0m\nAuthorization: Bearer secret-token\r\n${"secret-token\n\u001b[2K".repeat(60_000)}`;
  expect(echoed.length).toBeGreaterThan(1_000_000);
  answer = { status: 402, body: echoed };
  const error = (await createHttpDeps(config())
    .payments.charge(chargeRequest)
    .catch((failure: unknown) => failure)) as ClientError;
  expect(error).toBeInstanceOf(ClientError);
  expect(error.message).toContain("answered 402: [31mdeclined [0m Authorization: Bearer [redacted]");
  expect(error.message.length).toBeLessThanOrEqual(500);
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  expect(error.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect(error.message).not.toContain("secret-token");
});
