/**
 * A hostile review of the saga, written from the README and src/index.ts alone: each test states a property a
 * production user relies on, and checks it against the records the simulated providers of src/demo.ts keep (what
 * is held, charged, refunded, confirmed, alerted), not against what the saga says about itself. Tests the other
 * files already made (a clean booking, lost replies settled by key, crashes after each call) are not repeated.
 * Local only: every test injects faults, replaces a provider, or wraps a handler.
 */
import { withDurableExecution, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import {
  createHandler,
  createPaymentHandler,
  createRealDeps,
  ProviderRejectedError,
  type TripBooking,
  type TripDeps,
} from "../src";
import {
  PAYMENT_FUNCTION_ID,
  sampleTrip,
  simulatedConfig,
  simulatedWorld,
  type HeldRecord,
  type SimulatedWorld,
} from "../src/demo";
import { MAX_ERROR_TEXT } from "../src/error-text";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";
import { worldAnswer, worldServer, type Override, type Seen } from "./world-server";

beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

/** One execution of the saga, with the payment function registered; either handler may be replaced. */
async function book(
  world: SimulatedWorld,
  options: { payload?: unknown; saga?: DurableLambdaHandler; payment?: DurableLambdaHandler } = {},
) {
  const runner = new LocalDurableTestRunner<TripBooking>({
    handlerFunction: options.saga ?? createHandler(world.deps, simulatedConfig()),
  });
  runner.registerDurableFunction(
    PAYMENT_FUNCTION_ID,
    options.payment ?? createPaymentHandler(world.paymentDeps),
  );
  return runner.run({ payload: options.payload ?? sampleTrip });
}

const heldBy = (world: SimulatedWorld, service: HeldRecord["service"]) =>
  world.reservations.filter((r) => r.service === service && r.status === "held").map((r) => r.reservationId);
const netCharged = (world: SimulatedWorld) =>
  world.charges.filter((c) => c.status === "charged").reduce((sum, c) => sum + c.amountCents, 0);

/** What a failed booking must leave behind: nothing held, nothing charged. */
function expectNothingLeft(world: SimulatedWorld) {
  expect(world.held()).toEqual([]);
  expect(world.charged()).toEqual([]);
}

/** Print and console output of the run, to look for what must never be logged. */
function captureOutput() {
  const chunks: string[] = [];
  const keep = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [
    jest.spyOn(process.stdout, "write").mockImplementation(keep),
    jest.spyOn(process.stderr, "write").mockImplementation(keep),
    ...(["log", "info", "warn", "error", "debug"] as const).map((method) =>
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        chunks.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      }),
    ),
  ];
  return { text: () => chunks.join("\n"), restore: () => spies.forEach((spy) => spy.mockRestore()) };
}

describeLocal("a refusal on a retry does not prove the first attempt did nothing", () => {
  it("a hotel reserved behind a lost reply, then refused on the retry, is found by its key and cancelled", async () => {
    // The first attempt took the last room and its reply was lost; the retry, same key, is told 409.
    const world = simulatedWorld({ faults: { "hotels.reserve": ["lost-reply", "rejected"] } });
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.reservations.filter((r) => r.service === "hotels")).toHaveLength(1);
    expectNothingLeft(world);
    expect(world.alerts).toEqual([]);
    expect(result.getError().errorMessage).toContain("Undone: cancel-hotel, cancel-flight.");
  });

  it("a car reserved behind a lost reply, then refused on the retry, is released and the trip goes on without it", async () => {
    const world = simulatedWorld({ faults: { "cars.reserve": ["lost-reply", "rejected"] } });
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
    expect(heldBy(world, "cars")).toEqual([]);
    expect(world.reservations.filter((r) => r.service === "cars")).toHaveLength(1);
    expect(world.itineraries[0]!.carReservationId).toBeUndefined();
    expect(netCharged(world)).toBe(sampleTrip.price.amountCents);
  });

  it("an itinerary sent behind a lost reply, then refused on the retry, is undone and reported to operations", async () => {
    // The traveller holds a "confirmed" e-mail for a cancelled trip: people must know.
    const world = simulatedWorld({ faults: { "itineraries.confirm": ["lost-reply", "rejected"] } });
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.itineraries).toHaveLength(1);
    expectNothingLeft(world);
    expect(world.alerts).toHaveLength(1);
    expect(world.alerts[0]!.notUndone.map((item) => item.compensation)).toEqual(["confirm-booking"]);
  });

  it("a flight reserved behind a lost reply, then only outages, is still cancelled by its key", async () => {
    const world = simulatedWorld({
      faults: { "flights.reserve": ["lost-reply", "unavailable", "unavailable"] },
    });
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.reservations).toHaveLength(1);
    expectNothingLeft(world);
  });
});

describeLocal("a success that names nothing is in doubt", () => {
  it.each([
    ["no reservation id", {}],
    ["a blank reservation id", { reservationId: "   " }],
  ])(
    "a flight answered with %s is found by its key and cancelled, never cancelled by that id",
    async (_l, answer) => {
      const world = simulatedWorld();
      const reserve = world.deps.flights.reserve;
      world.deps.flights.reserve = async (request) => {
        await reserve(request); // the airline acted
        return answer as { reservationId: string };
      };
      const result = await book(world);

      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorMessage).toContain("failed at reserve-flight");
      expect(world.callsTo("flights.find")).toBe(1);
      expectNothingLeft(world);
    },
  );
});

describeLocal("a provider's error text never breaks a checkpoint", () => {
  const huge = "E".repeat(1024 * 1024);

  it("a 1 MB refusal message still compensates: the flight is cancelled", async () => {
    const world = simulatedWorld();
    world.deps.hotels.reserve = async () => {
      throw new ProviderRejectedError(`hotel refused (409): ${huge}`, 409);
    };
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expectNothingLeft(world);
    expect(result.getError().errorMessage!.length).toBeLessThan(2 * MAX_ERROR_TEXT);
  });

  it("a 1 MB reason for a compensation that fails for good still reaches the alert, bounded", async () => {
    const world = simulatedWorld({ faults: { "hotels.reserve": ["rejected"] } });
    world.deps.flights.cancel = async () => {
      throw new ProviderRejectedError(`non-refundable (409): ${huge}`, 409);
    };
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.alerts).toHaveLength(1);
    const [notUndone] = world.alerts[0]!.notUndone;
    expect(notUndone!.compensation).toBe("cancel-flight");
    expect(notUndone!.reason.length).toBeLessThan(2 * MAX_ERROR_TEXT);
  });
});

describeLocal("the payment function's answer is input, not a yes", () => {
  const forged: [string, unknown][] = [
    [
      "CHARGED for 1 cent",
      { status: "CHARGED", chargeId: "ch-forged", amountCents: 1, currency: "GBP", settledBy: "charge" },
    ],
    [
      "CHARGED in another currency",
      {
        status: "CHARGED",
        chargeId: "ch-forged",
        amountCents: 248_000,
        currency: "JPY",
        settledBy: "charge",
      },
    ],
    [
      "CHARGED with no charge id",
      { status: "CHARGED", amountCents: 248_000, currency: "GBP", settledBy: "charge" },
    ],
    [
      "a lower-case status",
      { status: "charged", chargeId: "ch-forged", amountCents: 248_000, currency: "GBP" },
    ],
    ["an unknown status", { status: "PENDING" }],
    ["a bare string", "CHARGED"],
    ["null", null],
  ];
  it.each(forged)(
    "answering %s gets no trip confirmed, and everything reserved is undone",
    async (_l, answer) => {
      const world = simulatedWorld();
      const result = await book(world, { payment: withDurableExecution(async () => answer) });

      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);
      expect(world.itineraries).toEqual([]);
      expectNothingLeft(world);
      // refund-payment looked the charge up by its key and found none: nothing to refund, nobody to alert.
      expect(world.callsTo("refunds.findCharge")).toBe(1);
      expect(world.alerts).toEqual([]);
    },
  );

  it("a payment function that charged, then failed, gets the charge refunded by its key", async () => {
    const world = simulatedWorld();
    const chargeThenFail = withDurableExecution(async (event, context) => {
      await context.step("charge-card", () => world.paymentDeps.gateway.charge(event as never));
      throw new Error("payment function failed after the gateway charged");
    });
    const result = await book(world, { payment: chargeThenFail });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.charges).toHaveLength(1);
    expectNothingLeft(world);
  });

  it.each<[string, (charge: SimulatedWorld["charges"][number]) => unknown]>([
    ["already refunded", (c) => ({ ...c, status: "refunded" })],
    ["charged in another currency", (c) => ({ ...c, currency: "JPY" })],
    ["of the wrong shape", () => ({ ok: true })],
    ["with the amount as a string", (c) => ({ ...c, amountCents: String(c.amountCents) })],
  ])("a look-up after a charge in doubt that finds it %s does not confirm the trip", async (_l, forge) => {
    const world = simulatedWorld({ faults: { "gateway.charge": ["lost-reply"] } });
    world.paymentDeps.gateway.findCharge = async () => forge(world.charges[0]!) as never;
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.itineraries).toEqual([]);
    expect(world.charges).toHaveLength(1);
  });

  it("the saga's own look-up finding the charge in another currency reports it, and never refunds blindly", async () => {
    const world = simulatedWorld({
      faults: { "gateway.charge": ["lost-reply"] },
      down: ["gateway.findCharge"],
    });
    world.deps.refunds.findCharge = async () => ({ ...world.charges[0]!, currency: "JPY" });
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.callsTo("refunds.refund")).toBe(0);
    expect(world.alerts).toHaveLength(1);
    expect(world.alerts[0]!.notUndone.map((item) => item.compensation)).toEqual(["refund-payment"]);
  });

  it("the saga's own look-up finding the charge already refunded refunds nothing and alerts nobody", async () => {
    const world = simulatedWorld({
      faults: { "gateway.charge": ["lost-reply"] },
      down: ["gateway.findCharge"],
    });
    world.deps.refunds.findCharge = async () => {
      world.charges[0]!.status = "refunded"; // refunded meanwhile by the gateway's own fraud check
      return { ...world.charges[0]! };
    };
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.callsTo("refunds.refund")).toBe(0);
    expectNothingLeft(world);
    expect(world.alerts).toEqual([]);
  });

  it("the payment function given the same request twice charges once and answers the same charge id", async () => {
    const world = simulatedWorld();
    const request = {
      bookingId: "trip-1",
      customerId: "c-1",
      amountCents: 500,
      currency: "USD",
      idempotencyKey: "trip-1:abc:charge-payment",
    };
    const charge = () =>
      new LocalDurableTestRunner({ handlerFunction: createPaymentHandler(world.paymentDeps) }).run({
        payload: request,
      });
    const [first, second] = [await charge(), await charge()];

    expect(world.charges).toHaveLength(1);
    expect(second.getResult()).toEqual(first.getResult());
  });
});

describeLocal("the same booking id started twice", () => {
  it("after it was confirmed, the duplicate is refused before anything is reserved or charged", async () => {
    const world = simulatedWorld();
    const first = await book(world);
    const callsBefore = world.calls.length;
    const second = await book(world);

    expect(first.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(second.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(second.getError()).toMatchObject({
      errorType: "AlreadyBookedError",
      errorMessage:
        'Booking trip-2041 is already confirmed ("TRIP-trip-2041"): nothing was reserved or charged',
    });
    expect(second.getOperations().map((operation) => operation.getName())).toEqual([
      "check-settings",
      "find-confirmed-booking",
    ]);
    expect(world.calls.slice(callsBefore).map((call) => call.call)).toEqual(["itineraries.find"]);
    expect(netCharged(world)).toBe(sampleTrip.price.amountCents);
    expect(world.charges).toHaveLength(1);
    expect(world.reservations).toHaveLength(3);
  });

  it("when the look-up cannot answer, the itinerary service refuses the duplicate and it compensates", async () => {
    // The look-up is side work: the booking goes on without it, and one itinerary per booking id still holds.
    const world = simulatedWorld();
    const first = await book(world);
    world.deps.itineraries.find = async () => {
      throw new ProviderRejectedError("look-up refused (403)", 403);
    };
    const second = await book(world);

    expect(first.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(second.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(second.getInvocations().length).toBeGreaterThanOrEqual(2);
    expect(second.getError().errorMessage).toContain("failed at confirm-booking");
    expect(netCharged(world)).toBe(sampleTrip.price.amountCents);
    expect(world.held().sort()).toEqual(["CR-trip-2041", "FL-trip-2041", "HT-trip-2041"]);
    expect(world.itineraries).toHaveLength(1);
    expect(world.alerts).toEqual([]);
  });
});

describeLocal("compensations that cannot be settled are reported, never kept silently", () => {
  it("a hotel found by its key as 'confirmed' after lost replies is still cancelled", async () => {
    const world = simulatedWorld({ unanswered: ["hotels.reserve"] });
    const find = world.deps.hotels.find;
    world.deps.hotels.find = async (request) => {
      const found = await find(request);
      return found && { ...found, status: "confirmed" as const };
    };
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expectNothingLeft(world);
  });

  it("a breaker store that returns garbage does not fail the booking", async () => {
    const world = simulatedWorld();
    world.setBreaker({
      state: "open",
      consecutiveFailures: "lots",
      version: "v?",
      openedAt: "yesterday",
    } as never);
    const result = await book(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(netCharged(world)).toBe(sampleTrip.price.amountCents);
    expect(world.itineraries).toHaveLength(1);
  });
});

const big = "x".repeat(100 * 1024);
const traveller = sampleTrip.traveller;
const flight = sampleTrip.flight;
const badInputs: [string, Record<string, unknown>][] = [
  ["a negative amount", { price: { amountCents: -248_000, currency: "GBP" } }],
  ["a zero amount", { price: { amountCents: 0, currency: "GBP" } }],
  ["a fractional amount of cents", { price: { amountCents: 1999.5, currency: "GBP" } }],
  [
    "an amount past MAX_SAFE_INTEGER",
    { price: { amountCents: Number.MAX_SAFE_INTEGER + 2, currency: "GBP" } },
  ],
  ["an amount of 10 trillion dollars", { price: { amountCents: 1e15, currency: "USD" } }],
  ["an amount just above the maximum of 100,000.00", { price: { amountCents: 10_000_001, currency: "USD" } }],
  ["an amount that is NaN (null on the wire)", { price: { amountCents: NaN, currency: "GBP" } }],
  ["an amount of Infinity (null on the wire)", { price: { amountCents: Infinity, currency: "GBP" } }],
  ["an amount as a string", { price: { amountCents: "248000", currency: "GBP" } }],
  ["an unknown currency", { price: { amountCents: 248_000, currency: "BTC" } }],
  ["a missing price", { price: undefined }],
  ["a price that is an array", { price: [248_000, "GBP"] }],
  ["a party of zero", { traveller: { ...traveller, party: 0 } }],
  ["a negative party", { traveller: { ...traveller, party: -3 } }],
  ["a fractional party", { traveller: { ...traveller, party: 1.5 } }],
  ["a party of a billion travellers", { traveller: { ...traveller, party: 1_000_000_000 } }],
  [
    "an e-mail carrying a header injection",
    { traveller: { ...traveller, email: "a@example.com\r\nBcc: all@x.test" } },
  ],
  ["a 100 KB e-mail", { traveller: { ...traveller, email: `${big}@example.com` } }],
  ["a customer id of spaces", { traveller: { ...traveller, customerId: "   " } }],
  ["a 100 KB customer id", { traveller: { ...traveller, customerId: big } }],
  ["a booking id of unicode spaces", { bookingId: "\u00a0\u2003\u3000" }],
  ["a booking id of zero-width characters", { bookingId: "\u200b\u200c\u200d\ufeff" }],
  ["a booking id of only a tab and a newline", { bookingId: "\t\n" }],
  ["a booking id with a newline (log and alert injection)", { bookingId: "trip-1\nALERT resolved by ops" }],
  ["a booking id with control characters", { bookingId: "trip-\u0000\u0007\u001b[31m" }],
  [
    "a booking id with a colon (it would forge <bookingId>:<execution>:<operation>)",
    { bookingId: "trip-1:ab:x" },
  ],
  ["a booking id with URL syntax (& # ?)", { bookingId: "trip-9&idempotencyKey=someone-else#x?y" }],
  ["a booking id of __proto__", { bookingId: "__proto__" }],
  ["a unicode booking id", { bookingId: "voyage-ñ-旅行-🧳" }],
  ["a booking id of 100 KB", { bookingId: big }],
  ["a booking id that is a number", { bookingId: 7001 }],
  ["a hotel id of 100 KB", { hotel: { hotelId: big } }],
  ["an unknown car category", { car: { category: "__proto__" } }],
  ["a 100 KB airport code", { flight: { ...flight, from: big } }],
  ["the same airport both ways", { flight: { ...flight, from: "JFK", to: "JFK" } }],
  ["a return before departure", { flight: { ...flight, departOn: "2027-05-10", returnOn: "2027-05-03" } }],
  ["an impossible date", { flight: { ...flight, departOn: "2027-02-30", returnOn: "2027-03-05" } }],
  ["a date that is not a date", { flight: { ...flight, departOn: "tomorrow" } }],
];

describeLocal("hostile input is refused before anything is reserved or charged", () => {
  it.each(badInputs)("refuses %s with zero operations and zero provider calls", async (_label, change) => {
    const world = simulatedWorld();
    const result = await book(world, { payload: { ...sampleTrip, ...change } });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorType).toBe("InvalidTripRequestError");
    expect(result.getOperations()).toEqual([]);
    expect(world.calls).toEqual([]);
  });

  it("refuses a departure in the past inside reserve-flight, before the airline is called", async () => {
    // Not at parse time: "today" needs the clock, which a replay may read on another day, so the refusal is made
    // (and checkpointed) inside the reserve-flight step; hence a BookingFailedError with nothing to undo.
    const world = simulatedWorld();
    const past = { ...flight, departOn: "1999-01-01", returnOn: "1999-01-08" };
    const result = await book(world, { payload: { ...sampleTrip, flight: past } });

    // Only the look-up for a confirmed booking ran before: no reservation, no charge.
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toBe(
      'Booking trip-2041 failed at reserve-flight: "flight.departOn 1999-01-01 is in the past: refused before ' +
        'calling the airline". Nothing to undo.',
    );
    expect(world.calls.map((call) => call.call)).toEqual(["itineraries.find"]);
  });

  it("a JSON __proto__ key in the request pollutes no prototype", async () => {
    const world = simulatedWorld();
    const payload: unknown = JSON.parse(
      JSON.stringify(sampleTrip).replace('"traveller"', '"__proto__":{"polluted":"yes"},"traveller"'),
    );
    const result = await book(world, { payload });

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(netCharged(world)).toBe(sampleTrip.price.amountCents);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real HTTP providers (createRealDeps) in front of the simulated world, behind a hostile server on 127.0.0.1
// ---------------------------------------------------------------------------------------------------------------

const TOKEN = "sk_live_SUPERSECRET_token_123";

async function hostileServer(world: SimulatedWorld, override?: Override) {
  const server = await worldServer(world, override);
  const { base } = server;
  const real = createRealDeps(() => ({
    breakerTable: "unused",
    flightsUrl: `${base}/flights`,
    hotelsUrl: `${base}/hotels`,
    carsUrl: `${base}/cars`,
    paymentsUrl: `${base}/payments`,
    itinerariesUrl: `${base}/itineraries`,
    operationsUrl: `${base}/operations`,
    apiToken: () => Promise.resolve(TOKEN),
    timeoutMs: 2000,
  }));
  const deps: TripDeps = { ...real, breakerStore: world.deps.breakerStore };
  return { seen: server.seen, saga: createHandler(deps, simulatedConfig()), close: server.close };
}

const isPost = (request: Seen, path: RegExp) => request.method === "POST" && path.test(request.url);

describeLocal("the real HTTP providers behind a hostile server", () => {
  it("a reservation id that is a path (../) is never spliced into another endpoint's URL", async () => {
    const world = simulatedWorld({ faults: { "hotels.reserve": ["rejected"] } });
    const server = await hostileServer(world, (request) =>
      isPost(request, /^\/flights\/reservations$/)
        ? { status: 201, body: JSON.stringify({ reservationId: "../../payments/charges/ch-999/refunds" }) }
        : undefined,
    );
    try {
      await book(world, { saga: server.saga });
    } finally {
      await server.close();
    }
    const paths = server.seen.map((request) => new URL(request.url, "http://x").pathname);
    expect(paths.filter((path) => path.startsWith("/payments"))).toEqual([]);
    expect(server.seen.map((request) => request.url)).toContain(
      `/flights/reservations/${encodeURIComponent("../../payments/charges/ch-999/refunds")}/cancel`,
    );
  });

  it("a 2xx reservation with a blank id is in doubt: the flight is found by key and cancelled, never by the blank id", async () => {
    const world = simulatedWorld();
    const server = await hostileServer(world, (request) => {
      if (!isPost(request, /^\/flights\/reservations$/)) return undefined;
      void worldAnswer(world, request); // the airline acts, then answers with a blank id
      return { status: 201, body: JSON.stringify({ reservationId: "   " }) };
    });
    let result;
    try {
      result = await book(world, { saga: server.saga });
    } finally {
      await server.close();
    }
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(server.seen.filter((request) => /reservations\/(%20|\s)*\/cancel/.test(request.url))).toEqual([]);
    expect(world.reservations).toHaveLength(1);
    expectNothingLeft(world);
  });

  it("a refusal whose body is a 40 KB HTML page still compensates the flight", async () => {
    const world = simulatedWorld();
    const page = `<html><body>${"<p>Sorry, something went wrong.</p>".repeat(1200)}</body></html>`;
    const server = await hostileServer(world, (request) =>
      isPost(request, /^\/hotels\/reservations$/) ? { status: 409, body: page } : undefined,
    );
    let result;
    try {
      result = await book(world, { saga: server.saga });
    } finally {
      await server.close();
    }
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expectNothingLeft(world);
  });

  it("four compensations refused with 40 KB HTML bodies still end in one alert naming all four, and a failed execution", async () => {
    const world = simulatedWorld();
    const page = `<html><body>${"<p>Sorry, something went wrong.</p>".repeat(1200)}</body></html>`;
    const server = await hostileServer(world, (request) =>
      isPost(request, /^\/itineraries\/itineraries$|\/cancel$|\/refunds$/)
        ? { status: 422, body: page }
        : undefined,
    );
    let result;
    try {
      result = await book(world, { saga: server.saga });
    } finally {
      await server.close();
    }
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.alerts).toHaveLength(1);
    expect(world.alerts[0]!.notUndone.map((item) => item.compensation)).toEqual([
      "refund-payment",
      "cancel-car",
      "cancel-hotel",
      "cancel-flight",
    ]);
    expect(result.getError().errorMessage!.length).toBeLessThan(4 * 1024);
  });

  it("a hotel that reserves and never answers is in doubt, and is found by its key and cancelled", async () => {
    const world = simulatedWorld();
    const server = await hostileServer(world, (request) => {
      if (!isPost(request, /^\/hotels\/reservations$/)) return undefined;
      void worldAnswer(world, request);
      return { status: -1, body: "" };
    });
    let result;
    try {
      result = await book(world, { saga: server.saga });
    } finally {
      await server.close();
    }
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(world.reservations.filter((r) => r.service === "hotels")).toHaveLength(1);
    expectNothingLeft(world);
  }, 60_000);

  it("a 2xx body that is not JSON (an HTML page) is in doubt, and the hotel behind it is cancelled by its key", async () => {
    const world = simulatedWorld();
    const server = await hostileServer(world, (request) => {
      if (!isPost(request, /^\/hotels\/reservations$/)) return undefined;
      void worldAnswer(world, request);
      return { status: 200, body: "<html><body>Thanks!</body></html>" };
    });
    let result;
    try {
      result = await book(world, { saga: server.saga });
    } finally {
      await server.close();
    }
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expectNothingLeft(world);
  });

  describe("when a provider's error body echoes the request's headers", () => {
    // reserve-hotel is refused, and so is cancel-flight, for good; both bodies echo the bearer token.
    let run: { world: SimulatedWorld; result: Awaited<ReturnType<typeof book>>; seen: Seen[]; logs: string };
    beforeAll(async () => {
      const world = simulatedWorld();
      const server = await hostileServer(world, (request) =>
        isPost(request, /^\/hotels\/reservations$|^\/flights\/reservations\/.+\/cancel$/)
          ? {
              status: 409,
              body: JSON.stringify({ error: "conflict", request: { headers: request.headers } }),
            }
          : undefined,
      );
      const output = captureOutput();
      try {
        run = { world, result: await book(world, { saga: server.saga }), seen: server.seen, logs: "" };
      } finally {
        output.restore();
        await server.close();
      }
      run.logs = output.text();
    });

    it("the token was sent, and echoed back in the refusals", () => {
      const refused = run.seen.filter((request) => /^\/hotels\/reservations$|\/cancel$/.test(request.url));
      expect(refused.map((request) => request.headers.authorization)).toEqual(
        refused.map(() => `Bearer ${TOKEN}`),
      );
      expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(run.result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(run.world.alerts).toHaveLength(1);
    });

    it("the API token never appears in the execution's error", () => {
      expect(JSON.stringify(run.result.getError())).not.toContain(TOKEN);
      expect(run.result.getError().errorMessage).toContain("[redacted]");
    });

    it("the API token is never sent to the operations alert channel", () => {
      expect(JSON.stringify(run.world.alerts)).not.toContain(TOKEN);
    });

    it("the API token never appears in the checkpointed history or in log lines", () => {
      expect(JSON.stringify(run.result.getHistoryEvents())).not.toContain(TOKEN);
      expect(run.logs).not.toContain(TOKEN);
    });
  });
});
