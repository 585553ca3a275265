import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  chargeRetryStrategy,
  createHttpPaymentGateway,
  createRealDeps,
  OutcomeInDoubtError,
  ProviderRejectedError,
  ProviderUnavailableError,
  SecretSettingError,
  type RealDepsConfig,
  type TripDeps,
} from "../src";

// The real HTTP providers and payment gateway against a server on 127.0.0.1: what goes on the wire (path,
// body, Idempotency-Key), and how each answer is classified (src/call-outcome.ts): not done and retryable
// (ProviderUnavailableError), not done for good (ProviderRejectedError), or in doubt (OutcomeInDoubtError).
interface Received {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

let server: Server;
let baseUrl: string;
const received: Received[] = [];
/** A body every call accepts: each answer schema reads its own field and ignores the others. */
const OK_BODY = JSON.stringify({ reservationId: "R-1", confirmationNumber: "C-1", chargeId: "ch_1" });
let answer: { status: number; body: string; delayMs?: number; reset?: boolean } = {
  status: 200,
  body: OK_BODY,
};

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: body ? JSON.parse(body) : undefined,
      });
      const { status, body: answerBody, delayMs = 0, reset = false } = answer;
      // The request arrived and was read: a reset now is a reply lost after the provider could have acted.
      if (reset) return void request.socket.destroy();
      setTimeout(() => {
        if (!response.destroyed)
          response.writeHead(status, { "content-type": "application/json" }).end(answerBody);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  received.length = 0;
  answer = { status: 200, body: OK_BODY };
});

const errorClasses = { ProviderUnavailableError, ProviderRejectedError, OutcomeInDoubtError };

const config =
  (overrides: Partial<RealDepsConfig> = {}): (() => RealDepsConfig) =>
  () => ({
    flightsUrl: `${baseUrl}/flights/`,
    hotelsUrl: `${baseUrl}/hotels/`,
    carsUrl: `${baseUrl}/cars/`,
    paymentsUrl: `${baseUrl}/payments/`,
    itinerariesUrl: `${baseUrl}/itineraries/`,
    operationsUrl: `${baseUrl}/ops/`,
    apiToken: () => Promise.resolve("secret-token"),
    timeoutMs: 1000,
    breakerTable: "breakers",
    ...overrides,
  });

describe("HTTP providers", () => {
  // Every call the saga makes: the request it sends, minus the idempotency key, which travels as a header.
  it.each<[string, string, (deps: TripDeps, key: string) => Promise<unknown>, string, unknown]>([
    [
      "flights.reserve",
      "trip-2041:reserve-flight",
      (deps, key) =>
        deps.flights.reserve({
          bookingId: "trip-2041",
          from: "LHR",
          to: "JFK",
          departOn: "2027-05-03",
          returnOn: "2027-05-10",
          travellers: 2,
          idempotencyKey: key,
        }),
      "/flights/reservations",
      {
        bookingId: "trip-2041",
        from: "LHR",
        to: "JFK",
        departOn: "2027-05-03",
        returnOn: "2027-05-10",
        travellers: 2,
      },
    ],
    [
      "flights.cancel",
      "trip-2041:cancel-flight",
      (deps, key) => deps.flights.cancel({ reservationId: "FL-1", idempotencyKey: key }),
      "/flights/reservations/FL-1/cancel",
      {},
    ],
    [
      "hotels.reserve",
      "trip-2041:reserve-hotel",
      (deps, key) =>
        deps.hotels.reserve({
          bookingId: "trip-2041",
          hotelId: "hotel-7",
          checkIn: "2027-05-03",
          checkOut: "2027-05-10",
          guests: 2,
          idempotencyKey: key,
        }),
      "/hotels/reservations",
      {
        bookingId: "trip-2041",
        hotelId: "hotel-7",
        checkIn: "2027-05-03",
        checkOut: "2027-05-10",
        guests: 2,
      },
    ],
    [
      "hotels.cancel",
      "trip-2041:cancel-hotel",
      (deps, key) => deps.hotels.cancel({ reservationId: "HT-1", idempotencyKey: key }),
      "/hotels/reservations/HT-1/cancel",
      {},
    ],
    [
      "cars.reserve",
      "trip-2041:reserve-car",
      (deps, key) =>
        deps.cars.reserve({
          bookingId: "trip-2041",
          pickUpAt: "JFK",
          from: "2027-05-03",
          to: "2027-05-10",
          category: "suv",
          idempotencyKey: key,
        }),
      "/cars/reservations",
      { bookingId: "trip-2041", pickUpAt: "JFK", from: "2027-05-03", to: "2027-05-10", category: "suv" },
    ],
    [
      "cars.cancel",
      "trip-2041:cancel-car",
      (deps, key) => deps.cars.cancel({ reservationId: "CR-1", idempotencyKey: key }),
      "/cars/reservations/CR-1/cancel",
      {},
    ],
    [
      "refunds.refund",
      "trip-2041:refund-payment",
      (deps, key) =>
        deps.refunds.refund({
          chargeId: "ch_1",
          amountCents: 248_000,
          currency: "GBP",
          idempotencyKey: key,
        }),
      "/payments/charges/ch_1/refunds",
      { amountCents: 248_000, currency: "GBP" },
    ],
    [
      "itineraries.confirm",
      "trip-2041:confirm-booking",
      (deps, key) =>
        deps.itineraries.confirm({
          bookingId: "trip-2041",
          email: "grace@example.com",
          flightReservationId: "FL-1",
          hotelReservationId: "HT-1",
          chargeId: "ch_1",
          idempotencyKey: key,
        }),
      "/itineraries/itineraries",
      {
        bookingId: "trip-2041",
        email: "grace@example.com",
        flightReservationId: "FL-1",
        hotelReservationId: "HT-1",
        chargeId: "ch_1",
      },
    ],
    [
      "operations.alert",
      "trip-2041:alert-operations",
      (deps, key) =>
        deps.operations.alert({
          bookingId: "trip-2041",
          failedAt: "charge-payment",
          notUndone: [{ compensation: "cancel-hotel", reason: "non-refundable (409)" }],
          idempotencyKey: key,
        }),
      "/ops/alerts",
      {
        bookingId: "trip-2041",
        failedAt: "charge-payment",
        notUndone: [{ compensation: "cancel-hotel", reason: "non-refundable (409)" }],
      },
    ],
  ])("%s posts JSON with its idempotency key (%s) and the token", async (_name, key, call, path, body) => {
    await call(createRealDeps(config()), key);

    expect(received).toEqual([
      {
        method: "POST",
        path,
        headers: expect.objectContaining({
          "content-type": "application/json",
          "idempotency-key": key,
          authorization: "Bearer secret-token",
        }) as unknown,
        body,
      },
    ]);
  });

  it("returns the provider's answer, and sends the key the workflow derived", async () => {
    answer = { status: 201, body: JSON.stringify({ reservationId: "FL-9" }) };
    const reservation = await createRealDeps(config()).flights.reserve({
      bookingId: "trip-2041",
      from: "LHR",
      to: "JFK",
      departOn: "2027-05-03",
      returnOn: "2027-05-10",
      travellers: 2,
      idempotencyKey: "trip-2041:reserve-flight",
    });
    expect(reservation).toEqual({ reservationId: "FL-9" });
    expect(received[0]?.headers["idempotency-key"]).toBe("trip-2041:reserve-flight");
  });

  it("accepts an empty 2xx answer to a cancellation", async () => {
    answer = { status: 204, body: "" };
    await expect(
      createRealDeps(config()).hotels.cancel({ reservationId: "HT-1", idempotencyKey: "k" }),
    ).resolves.toBeUndefined();
  });

  it("escapes a reservation id in the path", async () => {
    await createRealDeps(config()).cars.cancel({ reservationId: "CR/1 2", idempotencyKey: "k" });
    expect(received[0]?.path).toBe("/cars/reservations/CR%2F1%202/cancel");
  });

  it("keeps the base URL's path whether or not it ends in a slash", async () => {
    const deps = createRealDeps(config({ flightsUrl: `${baseUrl}/v2/flights` }));
    await deps.flights.cancel({ reservationId: "FL-1", idempotencyKey: "k" });
    expect(received[0]?.path).toBe("/v2/flights/reservations/FL-1/cancel");
  });

  it("sends no authorization header without a token", async () => {
    await createRealDeps(config({ apiToken: undefined })).flights.cancel({
      reservationId: "FL-1",
      idempotencyKey: "k",
    });
    expect(received[0]?.headers).not.toHaveProperty("authorization");
  });

  // The classification of src/call-outcome.ts, on the wire.
  it.each([
    [500, "OutcomeInDoubtError"],
    [502, "OutcomeInDoubtError"],
    [504, "OutcomeInDoubtError"],
    [507, "OutcomeInDoubtError"],
    [503, "ProviderUnavailableError"],
    [429, "ProviderUnavailableError"],
    [400, "ProviderRejectedError"],
    [401, "ProviderRejectedError"],
    [403, "ProviderRejectedError"],
    [404, "ProviderRejectedError"],
    [409, "ProviderRejectedError"],
    [422, "ProviderRejectedError"],
  ] as const)("an answer of %d becomes a %s carrying the status", async (status, errorName) => {
    const errorClass = errorClasses[errorName];
    answer = { status, body: JSON.stringify({ message: "nope" }) };
    const cancel = createRealDeps(config()).hotels.cancel({ reservationId: "HT-1", idempotencyKey: "k" });

    await expect(cancel).rejects.toBeInstanceOf(errorClass);
    await expect(cancel).rejects.toMatchObject({
      status,
      message: `POST ${baseUrl}/hotels/reservations/HT-1/cancel answered ${status}: {"message":"nope"}`,
    });
  });

  it.each([
    ["not JSON", "<html>ok</html>"],
    ["no reservation id", JSON.stringify({ id: "FL-9" })],
    ["an empty reservation id", JSON.stringify({ reservationId: "" })],
    ["an empty body", ""],
  ])("a 2xx with %s is in doubt, never a success", async (_label, body) => {
    answer = { status: 201, body };
    const reserve = createRealDeps(config()).flights.reserve({
      bookingId: "trip-2041",
      from: "LHR",
      to: "JFK",
      departOn: "2027-05-03",
      returnOn: "2027-05-10",
      travellers: 2,
      idempotencyKey: "k",
    });
    await expect(reserve).rejects.toBeInstanceOf(OutcomeInDoubtError);
    await expect(reserve).rejects.toThrow("answered 201 with a malformed body");
  });

  it("treats a timeout as in doubt (a keyed provider settles it on the retry with the same key)", async () => {
    answer = { status: 200, body: "{}", delayMs: 500 };
    const refund = createRealDeps(config({ timeoutMs: 50 })).refunds.refund({
      chargeId: "ch_1",
      amountCents: 1,
      currency: "GBP",
      idempotencyKey: "k",
    });

    await expect(refund).rejects.toBeInstanceOf(OutcomeInDoubtError);
    await expect(refund).rejects.toThrow(`POST ${baseUrl}/payments/charges/ch_1/refunds failed (timed out`);
    expect(received).toHaveLength(1); // it did reach the provider
  });

  it("treats a connection reset after the request was sent as in doubt", async () => {
    answer = { status: 200, body: OK_BODY, reset: true };
    const reserve = createRealDeps(config()).cars.reserve({
      bookingId: "trip-2041",
      pickUpAt: "JFK",
      from: "2027-05-03",
      to: "2027-05-10",
      category: "suv",
      idempotencyKey: "k",
    });
    await expect(reserve).rejects.toBeInstanceOf(OutcomeInDoubtError);
    expect(received).toHaveLength(1);
  });

  it("treats a refused connection as not done (never sent), retryable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const alert = createRealDeps(config({ operationsUrl: `http://127.0.0.1:${port}/` })).operations.alert({
      bookingId: "trip-2041",
      failedAt: "charge-payment",
      notUndone: [],
      idempotencyKey: "k",
    });
    await expect(alert).rejects.toBeInstanceOf(ProviderUnavailableError);
    await expect(alert).rejects.toThrow("ECONNREFUSED: the request was never sent");
  });

  it("looks a reservation up by its idempotency key: found, or 404 for nothing held", async () => {
    const deps = createRealDeps(config());
    answer = { status: 200, body: JSON.stringify({ reservationId: "HT-1", status: "held" }) };
    await expect(deps.hotels.find({ idempotencyKey: "trip-2041:e:reserve-hotel" })).resolves.toEqual({
      reservationId: "HT-1",
      status: "held",
    });
    answer = { status: 404, body: JSON.stringify({ message: "no reservation under that key" }) };
    await expect(deps.hotels.find({ idempotencyKey: "trip-2041:e:reserve-hotel" })).resolves.toBeUndefined();
    expect(received.map(({ method, path, headers }) => [method, path, headers["idempotency-key"]])).toEqual([
      ["GET", "/hotels/reservations?idempotencyKey=trip-2041%3Ae%3Areserve-hotel", undefined],
      ["GET", "/hotels/reservations?idempotencyKey=trip-2041%3Ae%3Areserve-hotel", undefined],
    ]);
  });

  it("looks a confirmed itinerary up by booking id: found, or 404 for none", async () => {
    const deps = createRealDeps(config());
    answer = { status: 200, body: JSON.stringify({ confirmationNumber: "TRIP-9" }) };
    await expect(deps.itineraries.find({ bookingId: "trip-2041" })).resolves.toEqual({
      confirmationNumber: "TRIP-9",
    });
    answer = { status: 404, body: JSON.stringify({ message: "no itinerary for that booking" }) };
    await expect(deps.itineraries.find({ bookingId: "trip-2041" })).resolves.toBeUndefined();
    expect(received.map(({ method, path }) => [method, path])).toEqual([
      ["GET", "/itineraries/itineraries?bookingId=trip-2041"],
      ["GET", "/itineraries/itineraries?bookingId=trip-2041"],
    ]);
  });

  it("looks a charge up by its key for the refund; a look-up in doubt is not 'nothing found'", async () => {
    const deps = createRealDeps(config());
    answer = {
      status: 200,
      body: JSON.stringify({ chargeId: "ch_1", status: "charged", amountCents: 248_000, currency: "GBP" }),
    };
    await expect(deps.refunds.findCharge({ idempotencyKey: "k1" })).resolves.toEqual({
      chargeId: "ch_1",
      status: "charged",
      amountCents: 248_000,
      currency: "GBP",
    });
    expect(received[0]?.path).toBe("/payments/charges?idempotencyKey=k1");
    answer = { status: 502, body: "bad gateway" };
    await expect(deps.refunds.findCharge({ idempotencyKey: "k1" })).rejects.toBeInstanceOf(
      OutcomeInDoubtError,
    );
    answer = {
      status: 200,
      body: JSON.stringify({ chargeId: "ch_1", status: "maybe", amountCents: 1, currency: "GBP" }),
    };
    await expect(deps.refunds.findCharge({ idempotencyKey: "k1" })).rejects.toBeInstanceOf(
      OutcomeInDoubtError,
    );
  });

  it("refuses, as rejected, to call a provider whose URL is not configured", async () => {
    const reserve = createRealDeps(config({ hotelsUrl: "" })).hotels.reserve({
      bookingId: "trip-2041",
      hotelId: "hotel-7",
      checkIn: "2027-05-03",
      checkOut: "2027-05-10",
      guests: 2,
      idempotencyKey: "k",
    });
    await expect(reserve).rejects.toThrow(new ProviderRejectedError("No URL configured for hotelsUrl"));
    expect(received).toEqual([]);
  });

  it("reads the environment when a call is made, not when the deps are created; a plain TRIP_API_TOKEN is refused", async () => {
    const saved = { url: process.env.FLIGHTS_API_URL, token: process.env.TRIP_API_TOKEN };
    delete process.env.FLIGHTS_API_URL;
    delete process.env.TRIP_API_TOKEN;
    try {
      const deps = createRealDeps();
      await expect(deps.flights.cancel({ reservationId: "FL-1", idempotencyKey: "k" })).rejects.toThrow(
        "No URL configured for flightsUrl",
      );

      process.env.FLIGHTS_API_URL = `${baseUrl}/from-env`;
      await deps.flights.cancel({ reservationId: "FL-1", idempotencyKey: "k" });
      expect(received).toMatchObject([{ path: "/from-env/reservations/FL-1/cancel" }]);
      expect(received[0]?.headers).not.toHaveProperty("authorization");

      // A token in the plain environment is shown by the template and GetFunctionConfiguration: never used.
      process.env.TRIP_API_TOKEN = "env-token";
      const refused = deps.flights.cancel({ reservationId: "FL-1", idempotencyKey: "k" });
      await expect(refused).rejects.toBeInstanceOf(SecretSettingError);
      await expect(refused).rejects.toThrow("TRIP_API_TOKEN is set in the plain environment");
      expect(received).toHaveLength(1);
    } finally {
      restoreEnv("FLIGHTS_API_URL", saved.url);
      restoreEnv("TRIP_API_TOKEN", saved.token);
    }
  });
});

describe("HTTP payment gateway", () => {
  const charge = {
    bookingId: "trip-2041",
    customerId: "cust-88",
    amountCents: 248_000,
    currency: "GBP" as const,
    idempotencyKey: "trip-2041:charge-payment",
  };

  it("posts the charge with the caller's idempotency key and returns the charge id", async () => {
    answer = { status: 201, body: JSON.stringify({ chargeId: "ch_9" }) };
    const result = await createHttpPaymentGateway(() => `${baseUrl}/gateway`).charge(charge);

    expect(result).toEqual({ chargeId: "ch_9" });
    expect(received).toEqual([
      {
        method: "POST",
        path: "/gateway/charges",
        headers: expect.objectContaining({
          "content-type": "application/json",
          "idempotency-key": "trip-2041:charge-payment",
        }) as unknown,
        body: { bookingId: "trip-2041", customerId: "cust-88", amountCents: 248_000, currency: "GBP" },
      },
    ]);
  });

  // What the charge step's retry strategy then does with each: only "not done, may succeed later" is retried;
  // a decline is final; anything in doubt goes to the look-up by key, never to a second charge.
  it.each([
    [429, "ProviderUnavailableError", true],
    [503, "ProviderUnavailableError", true],
    [500, "OutcomeInDoubtError", false],
    [502, "OutcomeInDoubtError", false],
    [504, "OutcomeInDoubtError", false],
    [402, "ProviderRejectedError", false],
    [409, "ProviderRejectedError", false],
  ] as const)("an answer of %d becomes a %s (retried: %p)", async (status, errorName, retried) => {
    const errorClass = errorClasses[errorName];
    answer = { status, body: "declined" };
    const error = await rejection(createHttpPaymentGateway(() => `${baseUrl}/gateway/`).charge(charge));

    expect(error).toBeInstanceOf(errorClass);
    expect(error).toMatchObject({
      status,
      message: `POST ${baseUrl}/gateway/charges answered ${status}: declined`,
    });
    expect(chargeRetryStrategy(error, 1).shouldRetry).toBe(retried);
  });

  it("reports a timeout as in doubt, which is never charged again", async () => {
    answer = { status: 200, body: JSON.stringify({ chargeId: "ch_late" }), delayMs: 500 };
    const error = await rejection(createHttpPaymentGateway(() => `${baseUrl}/gateway/`, 50).charge(charge));

    expect(error).toBeInstanceOf(OutcomeInDoubtError);
    expect(error.message).toMatch(/^POST .*\/gateway\/charges failed \(timed out/);
    expect(chargeRetryStrategy(error, 1)).toEqual({ shouldRetry: false });
  });

  it("reads a 2xx without a charge id as in doubt", async () => {
    answer = { status: 200, body: JSON.stringify({ ok: true }) };
    const error = await rejection(createHttpPaymentGateway(() => `${baseUrl}/gateway/`).charge(charge));
    expect(error).toBeInstanceOf(OutcomeInDoubtError);
    expect(chargeRetryStrategy(error, 1)).toEqual({ shouldRetry: false });
  });

  it("looks a charge up by its idempotency key: found, or 404 for none", async () => {
    const gateway = createHttpPaymentGateway(() => `${baseUrl}/gateway`);
    answer = {
      status: 200,
      body: JSON.stringify({ chargeId: "ch_9", status: "charged", amountCents: 248_000, currency: "GBP" }),
    };
    await expect(gateway.findCharge({ idempotencyKey: "trip-2041:e:charge-payment" })).resolves.toEqual({
      chargeId: "ch_9",
      status: "charged",
      amountCents: 248_000,
      currency: "GBP",
    });
    answer = { status: 404, body: "{}" };
    await expect(
      gateway.findCharge({ idempotencyKey: "trip-2041:e:charge-payment" }),
    ).resolves.toBeUndefined();
    expect(received.map((r) => `${r.method} ${r.path}`)).toEqual([
      "GET /gateway/charges?idempotencyKey=trip-2041%3Ae%3Acharge-payment",
      "GET /gateway/charges?idempotencyKey=trip-2041%3Ae%3Acharge-payment",
    ]);
  });

  it("refuses to charge without PAYMENT_GATEWAY_URL, read at call time", async () => {
    const saved = process.env.PAYMENT_GATEWAY_URL;
    delete process.env.PAYMENT_GATEWAY_URL;
    try {
      const gateway = createHttpPaymentGateway();
      await expect(gateway.charge(charge)).rejects.toThrow(
        new ProviderRejectedError("PAYMENT_GATEWAY_URL is not set"),
      );
      expect(received).toEqual([]);

      process.env.PAYMENT_GATEWAY_URL = `${baseUrl}/env-gateway/`;
      answer = { status: 200, body: JSON.stringify({ chargeId: "ch_1" }) };
      await expect(gateway.charge(charge)).resolves.toEqual({ chargeId: "ch_1" });
      expect(received[0]?.path).toBe("/env-gateway/charges");
    } finally {
      restoreEnv("PAYMENT_GATEWAY_URL", saved);
    }
  });
});

/** The error a call failed with (and a test failure if it succeeded). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

function restoreEnv(name: string, value: string | undefined) {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
