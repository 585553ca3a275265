/**
 * The production parts of the real dependencies: every call through src/http-call.ts against servers on 127.0.0.1
 * that record what they received, and the tokens read from Secrets Manager (aws-sdk-client-mock on
 * SecretsManagerClient, under Powertools Parameters) inside the step that makes the call.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { clearCaches } from "@aws-lambda-powertools/parameters";
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from "@aws-sdk/client-secrets-manager";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { mockClient } from "aws-sdk-client-mock";
import {
  chargeRetryStrategy,
  createHandler,
  createHttpPaymentGateway,
  createPaymentHandler,
  configFromEnv,
  createRealDeps,
  HttpSettingError,
  outcomeOfFailedStep,
  ProviderUnavailableError,
  SecretSettingError,
  type RealDepsConfig,
  type TripBooking,
  type TripDeps,
} from "../src";
import {
  PAYMENT_FUNCTION_ID,
  sampleTrip,
  simulatedConfig,
  simulatedWorld,
  type SimulatedWorld,
} from "../src/demo";
import * as policies from "../src/retry-policies";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";
import { worldServer, type Override } from "./world-server";

// Real time, taken before the runner installs its fake clock (which fakes Date and performance too): under
// skipTime, Date.now jumps past any delay the runner skips, so how long a booking took is read on this.
const realNow = performance.now.bind(performance);
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const TRIP_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:trip-api-token-AbCdEf";
const GATEWAY_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:payment-gateway-token-GhIjKl";
const TRIP_TOKEN = "trip-token-from-the-secret-7f3a9c";
const GATEWAY_TOKEN = "gateway-token-from-the-secret-2b8d41";

const secrets = mockClient(SecretsManagerClient);
const secretReads = (arn?: string) =>
  secrets
    .commandCalls(GetSecretValueCommand)
    .filter((call) => arn === undefined || call.args[0].input.SecretId === arn).length;

/** The settings this file sets, restored after each test. */
const SETTINGS = [
  "AWS_REGION",
  "TRIP_API_TOKEN",
  "TRIP_API_TOKEN_SECRET_ARN",
  "PAYMENT_GATEWAY_TOKEN",
  "PAYMENT_GATEWAY_TOKEN_SECRET_ARN",
  "PAYMENT_GATEWAY_URL",
  "FLIGHTS_API_URL",
  "HOTELS_API_URL",
  "CARS_API_URL",
  "PAYMENTS_API_URL",
  "ITINERARIES_API_URL",
  "OPERATIONS_API_URL",
];
const saved = Object.fromEntries(SETTINGS.map((name) => [name, process.env[name]]));
beforeEach(() => {
  secrets.reset();
  clearCaches();
  for (const name of SETTINGS) delete process.env[name];
  process.env.AWS_REGION = "eu-west-1";
});
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});
afterAll(() => secrets.restore());

// -------------------------------------------------------------------------------------------------------------
// Every path keeps the base URL's path
// -------------------------------------------------------------------------------------------------------------

describe("every path the pattern calls stays under its configured base URL", () => {
  interface Received {
    method: string;
    path: string;
    headers: IncomingHttpHeaders;
  }
  let server: Server;
  let origin: string;
  const received: Received[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      received.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers });
      request.resume();
      // One answer that every schema accepts: each reads its own fields (a look-up's status depends on the kind).
      const status = (request.url ?? "").includes("charges?") ? "charged" : "held";
      response.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          reservationId: "R-1",
          confirmationNumber: "C-1",
          chargeId: "ch_1",
          status,
          amountCents: 100,
          currency: "GBP",
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => (received.length = 0));

  const key = "trip-2041:5f0c2a9be1d4:op";
  const calls: [string, (deps: TripDeps) => Promise<unknown>, string, string][] = [
    [
      "flights.reserve",
      (deps) =>
        deps.flights.reserve({
          bookingId: "trip-2041",
          ...sampleTrip.flight,
          travellers: 2,
          idempotencyKey: key,
        }),
      "POST",
      "/flights-api/reservations",
    ],
    [
      "flights.cancel",
      (deps) => deps.flights.cancel({ reservationId: "FL-1", idempotencyKey: key }),
      "POST",
      "/flights-api/reservations/FL-1/cancel",
    ],
    [
      "flights.find",
      (deps) => deps.flights.find({ idempotencyKey: key }),
      "GET",
      `/flights-api/reservations?idempotencyKey=${encodeURIComponent(key)}`,
    ],
    [
      "hotels.reserve",
      (deps) =>
        deps.hotels.reserve({
          bookingId: "trip-2041",
          hotelId: "h-1",
          checkIn: "2027-05-03",
          checkOut: "2027-05-10",
          guests: 2,
          idempotencyKey: key,
        }),
      "POST",
      "/hotels-api/reservations",
    ],
    [
      "hotels.cancel",
      (deps) => deps.hotels.cancel({ reservationId: "HT-1", idempotencyKey: key }),
      "POST",
      "/hotels-api/reservations/HT-1/cancel",
    ],
    [
      "hotels.find",
      (deps) => deps.hotels.find({ idempotencyKey: key }),
      "GET",
      `/hotels-api/reservations?idempotencyKey=${encodeURIComponent(key)}`,
    ],
    [
      "cars.reserve",
      (deps) =>
        deps.cars.reserve({
          bookingId: "trip-2041",
          pickUpAt: "JFK",
          from: "2027-05-03",
          to: "2027-05-10",
          category: "suv",
          idempotencyKey: key,
        }),
      "POST",
      "/cars-api/reservations",
    ],
    [
      "cars.cancel",
      (deps) => deps.cars.cancel({ reservationId: "CR-1", idempotencyKey: key }),
      "POST",
      "/cars-api/reservations/CR-1/cancel",
    ],
    [
      "cars.find",
      (deps) => deps.cars.find({ idempotencyKey: key }),
      "GET",
      `/cars-api/reservations?idempotencyKey=${encodeURIComponent(key)}`,
    ],
    [
      "refunds.refund",
      (deps) =>
        deps.refunds.refund({ chargeId: "ch_1", amountCents: 100, currency: "GBP", idempotencyKey: key }),
      "POST",
      "/payments-api/charges/ch_1/refunds",
    ],
    [
      "refunds.findCharge",
      (deps) => deps.refunds.findCharge({ idempotencyKey: key }),
      "GET",
      `/payments-api/charges?idempotencyKey=${encodeURIComponent(key)}`,
    ],
    [
      "itineraries.find",
      (deps) => deps.itineraries.find({ bookingId: "trip-2041" }),
      "GET",
      "/itineraries-api/itineraries?bookingId=trip-2041",
    ],
    [
      "itineraries.confirm",
      (deps) =>
        deps.itineraries.confirm({
          bookingId: "trip-2041",
          email: "grace@example.com",
          flightReservationId: "FL-1",
          hotelReservationId: "HT-1",
          chargeId: "ch_1",
          idempotencyKey: key,
        }),
      "POST",
      "/itineraries-api/itineraries",
    ],
    [
      "operations.alert",
      (deps) =>
        deps.operations.alert({ bookingId: "trip-2041", failedAt: "x", notUndone: [], idempotencyKey: key }),
      "POST",
      "/ops-api/alerts",
    ],
  ];

  const config =
    (slash: string): (() => RealDepsConfig) =>
    () => ({
      flightsUrl: `${origin}/flights-api${slash}`,
      hotelsUrl: `${origin}/hotels-api${slash}`,
      carsUrl: `${origin}/cars-api${slash}`,
      paymentsUrl: `${origin}/payments-api${slash}`,
      itinerariesUrl: `${origin}/itineraries-api${slash}`,
      operationsUrl: `${origin}/ops-api${slash}`,
      apiToken: () => Promise.resolve("t0ken"),
      timeoutMs: 2000,
      breakerTable: "unused",
    });

  describe.each([
    ["without a trailing slash", ""],
    ["with a trailing slash", "/"],
  ])("base URLs %s", (_label, slash) => {
    it.each(calls)("%s goes under the base path", async (_name, call, method, path) => {
      await call(createRealDeps(config(slash)));
      expect(received).toEqual([
        {
          method,
          path,
          headers: expect.objectContaining({ authorization: "Bearer t0ken" }) as unknown,
        },
      ]);
    });

    it("the gateway's charge and look-up go under PAYMENT_GATEWAY_URL's path", async () => {
      const gateway = createHttpPaymentGateway(
        () => `${origin}/gateway-api/v1${slash}`,
        2000,
        () => Promise.resolve("gw"),
      );
      await gateway.charge({
        bookingId: "trip-2041",
        customerId: "cust-88",
        amountCents: 100,
        currency: "GBP",
        idempotencyKey: key,
      });
      await gateway.findCharge({ idempotencyKey: key });
      expect(received.map(({ method, path, headers }) => [method, path, headers.authorization])).toEqual([
        ["POST", "/gateway-api/v1/charges", "Bearer gw"],
        ["GET", `/gateway-api/v1/charges?idempotencyKey=${encodeURIComponent(key)}`, "Bearer gw"],
      ]);
    });
  });

  it("a base URL with credentials in it is refused, naming the setting and not the password, before any request", async () => {
    const withCredentials = `http://user:hunter2@127.0.0.1:${new URL(origin).port}/flights-api`;
    const cancel = createRealDeps(() => ({ ...config("")(), flightsUrl: withCredentials })).flights.cancel({
      reservationId: "FL-1",
      idempotencyKey: key,
    });
    const error = await rejection(cancel);
    expect(error).toBeInstanceOf(HttpSettingError);
    expect(error.message).toBe(
      "flightsUrl (FLIGHTS_API_URL): the service's base URL must not contain credentials (user:password@)",
    );
    expect(error.message).not.toContain("hunter2");
    expect(received).toEqual([]);
    // Nothing was sent: not done (the compensation is withdrawn), and no retry strategy tries it again.
    expect(outcomeOfFailedStep(error)).toBe("not-done");
    expect(policies.retryReservation(error, 1).shouldRetry).toBe(false);
  });

  it("a redirect is never followed, and is in doubt", async () => {
    const redirecting = createServer((request, response) => {
      received.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers });
      request.resume();
      response.writeHead(307, { location: `${origin}/elsewhere` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hotels-api`;
      const cancel = createRealDeps(() => ({ ...config("")(), hotelsUrl: base })).hotels.cancel({
        reservationId: "HT-1",
        idempotencyKey: key,
      });
      const error = await rejection(cancel);
      expect(error.name).toBe("OutcomeInDoubtError");
      expect(error.message).toContain("answered 307");
      expect(received.map((r) => r.path)).toEqual(["/hotels-api/reservations/HT-1/cancel"]);
    } finally {
      redirecting.closeAllConnections();
      await new Promise<void>((resolve) => redirecting.close(() => resolve()));
    }
  });
});

// -------------------------------------------------------------------------------------------------------------
// Tokens from Secrets Manager, through the whole saga and the payment function
// -------------------------------------------------------------------------------------------------------------

/** The deployed wiring: settings from the environment, tokens from their secrets. Only the breaker is simulated. */
function deployedWiring(world: SimulatedWorld, base: string) {
  process.env.FLIGHTS_API_URL = `${base}/flights`;
  process.env.HOTELS_API_URL = `${base}/hotels`;
  process.env.CARS_API_URL = `${base}/cars`;
  process.env.PAYMENTS_API_URL = `${base}/payments`;
  process.env.ITINERARIES_API_URL = `${base}/itineraries`;
  process.env.OPERATIONS_API_URL = `${base}/operations`;
  process.env.PAYMENT_GATEWAY_URL = `${base}/gateway/`;
  const deps: TripDeps = { ...createRealDeps(), breakerStore: world.deps.breakerStore };
  const runner = new LocalDurableTestRunner<TripBooking>({
    handlerFunction: createHandler(deps, simulatedConfig()),
  });
  runner.registerDurableFunction(
    PAYMENT_FUNCTION_ID,
    createPaymentHandler({ gateway: createHttpPaymentGateway() }),
  );
  return runner;
}

async function bookThroughHttp(world: SimulatedWorld, override?: Override) {
  const server = await worldServer(world, override);
  try {
    const result = await deployedWiring(world, server.base).run({ payload: sampleTrip });
    return { result, seen: server.seen };
  } finally {
    await server.close();
  }
}

const stepError = (result: Awaited<ReturnType<typeof bookThroughHttp>>["result"], name: string) =>
  result
    .getOperations()
    .find((operation) => operation.getName() === name)
    ?.getStepDetails()?.error;

describeLocal("tokens are read from Secrets Manager inside the steps that use them", () => {
  beforeEach(() => {
    process.env.TRIP_API_TOKEN_SECRET_ARN = TRIP_ARN;
    process.env.PAYMENT_GATEWAY_TOKEN_SECRET_ARN = GATEWAY_ARN;
    secrets.on(GetSecretValueCommand, { SecretId: TRIP_ARN }).resolves({ SecretString: TRIP_TOKEN });
    secrets.on(GetSecretValueCommand, { SecretId: GATEWAY_ARN }).resolves({ SecretString: GATEWAY_TOKEN });
  });

  it("each token reaches its own services only, and each secret is read once for the whole booking (cached)", async () => {
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.charged()).toHaveLength(1);
    expect(world.itineraries).toHaveLength(1);
    const gateway = seen.filter((request) => request.url.startsWith("/gateway/"));
    const providers = seen.filter((request) => !request.url.startsWith("/gateway/"));
    expect(gateway.map((request) => `${request.method} ${request.url}`)).toEqual(["POST /gateway/charges"]);
    expect(gateway.map((request) => request.headers.authorization)).toEqual([`Bearer ${GATEWAY_TOKEN}`]);
    // find-confirmed-booking, three reservations, the confirmation: each with the trip token, never the gateway's.
    expect(
      providers.map((request) => `${request.method} ${new URL(request.url, "http://x").pathname}`),
    ).toEqual([
      "GET /itineraries/itineraries",
      "POST /flights/reservations",
      "POST /hotels/reservations",
      "POST /cars/reservations",
      "POST /itineraries/itineraries",
    ]);
    expect(new Set(providers.map((request) => request.headers.authorization))).toEqual(
      new Set([`Bearer ${TRIP_TOKEN}`]),
    );
    // Six calls in six steps, and the charge in another function: each secret read once, within its max age.
    expect(secretReads(TRIP_ARN)).toBe(1);
    expect(secretReads(GATEWAY_ARN)).toBe(1);
    // The values are never checkpointed.
    const history = JSON.stringify(result.getHistoryEvents());
    expect(history).not.toContain(TRIP_TOKEN);
    expect(history).not.toContain(GATEWAY_TOKEN);
  });

  it("two calls within the max age read the secret once; after clearCaches, again", async () => {
    const world = simulatedWorld();
    const server = await worldServer(world);
    try {
      deployedWiring(world, server.base);
      const deps = createRealDeps();
      await deps.flights.find({ idempotencyKey: "k1" });
      await deps.hotels.find({ idempotencyKey: "k2" });
      expect(secretReads(TRIP_ARN)).toBe(1);
      clearCaches();
      await deps.cars.find({ idempotencyKey: "k3" });
      expect(secretReads(TRIP_ARN)).toBe(2);
      expect(server.seen.map((request) => request.headers.authorization)).toEqual([
        `Bearer ${TRIP_TOKEN}`,
        `Bearer ${TRIP_TOKEN}`,
        `Bearer ${TRIP_TOKEN}`,
      ]);
    } finally {
      await server.close();
    }
  });

  it.each([
    [
      "missing",
      () =>
        new ResourceNotFoundException({ message: "Secrets Manager can't find the secret.", $metadata: {} }),
      "(ResourceNotFoundException: no such secret, or it has no current value)",
    ],
    [
      "unreadable",
      () =>
        new SecretsManagerServiceException({
          name: "AccessDeniedException",
          $fault: "client",
          message: "not authorized to GetSecretValue",
          $metadata: {},
        }),
      "(AccessDeniedException: the function's role may not read it)",
    ],
  ])(
    "a %s TRIP_API_TOKEN secret fails the booking, naming the setting, before any provider is called",
    async (_label, failure, why) => {
      secrets.on(GetSecretValueCommand, { SecretId: TRIP_ARN }).rejects(failure());
      const world = simulatedWorld();
      const { result, seen } = await bookThroughHttp(world);

      expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
      expect(result.getError().errorType).toBe("BookingFailedError");
      expect(result.getError().errorMessage).toBe(
        'Booking trip-2041 failed at check-settings: "TRIP_API_TOKEN could not be read from the secret in ' +
          `TRIP_API_TOKEN_SECRET_ARN ${why}". Nothing to undo.`,
      );
      expect(seen).toEqual([]);
      expect(world.calls).toEqual([]);
      // Not retried: one attempt at check-settings, the first step, and one read; nothing runs after it. (This
      // asserted one read at reserve-flight and one at find-confirmed-booking before check-settings existed.)
      expect(stepError(result, "check-settings")?.errorType).toBe("SecretSettingError");
      expect(secretReads(TRIP_ARN)).toBe(1);
      expect(result.getOperations().map((operation) => operation.getName())).toEqual(["check-settings"]);
    },
  );

  it("a TRIP_API_TOKEN in the plain environment is refused, and never sent", async () => {
    process.env.TRIP_API_TOKEN = "plain-text-token";
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toContain(
      'failed at check-settings: "TRIP_API_TOKEN is set in the plain environment',
    );
    expect(result.getError().errorMessage).not.toContain("plain-text-token");
    expect(seen).toEqual([]);
    expect(secretReads()).toBe(0);
  });

  it("Secrets Manager throttled for a moment is an outage: the step retries and the booking goes through", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: TRIP_ARN })
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))
      .resolves({ SecretString: TRIP_TOKEN });
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(secretReads(TRIP_ARN)).toBe(2);
    expect(seen[0]).toMatchObject({ url: "/itineraries/itineraries?bookingId=trip-2041" });
    expect(world.charged()).toHaveLength(1);
  });

  it("Secrets Manager throttled throughout: check-settings gives up, and the booking fails with nothing sent and nothing to undo", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: TRIP_ARN })
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    // The verdict is true: nothing was sent, so nothing is claimed NOT undone and nobody is alerted.
    expect(result.getError().errorMessage).toBe(
      'Booking trip-2041 failed at check-settings: "TRIP_API_TOKEN could not be read from the secret in ' +
        'TRIP_API_TOKEN_SECRET_ARN (ThrottlingException): nothing was sent". Nothing to undo.',
    );
    expect(seen).toEqual([]);
    expect(world.calls).toEqual([]);
    expect(result.getOperations().map((operation) => operation.getName())).toEqual(["check-settings"]);
    // An outage: tried 5 times (settingsCheckRetry), one read each.
    const check = result.getOperations().find((operation) => operation.getName() === "check-settings");
    expect(check?.getStepDetails()?.attempt).toBe(5);
    expect(secretReads(TRIP_ARN)).toBe(5);
  });

  it("Secrets Manager throttled after check-settings (a cold sandbox mid-booking): the hotel's step ends on its first attempt, not done, nothing sent for it", async () => {
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world, (request) => {
      if (request.method === "POST" && request.url === "/flights/reservations") {
        // The flight is reserved; from now on the token cannot be read (and the sandbox's cache is gone).
        clearCaches();
        secrets
          .on(GetSecretValueCommand, { SecretId: TRIP_ARN })
          .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
      }
      return undefined;
    });

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toMatch(
      /^Booking trip-2041 failed at reserve-hotel: "TRIP_API_TOKEN could not be read .*\(ThrottlingException\): nothing was sent"\. NOT undone: cancel-flight \(".*ThrottlingException.*"\); operations NOT alerted \(".*"\)\.$/,
    );
    // reserve-hotel: one attempt, a setting error (not done: its compensation withdrawn, never looked up).
    const hotel = result.getOperations().find((operation) => operation.getName() === "reserve-hotel");
    expect(hotel?.getStepDetails()?.attempt).toBe(1);
    expect(stepError(result, "reserve-hotel")?.errorType).toBe("SecretSettingError");
    expect(result.getOperations().map((operation) => operation.getName())).not.toContain("cancel-hotel");
    expect(seen.filter((request) => request.url.startsWith("/hotels/"))).toEqual([]);
    // The flight was reserved and could not be cancelled without the token: it is named NOT undone, truly.
    expect(world.held()).toEqual(["FL-trip-2041"]);
    // cancel-flight, an outage each time, retried patiently (cancelFlightRetry: 8 attempts).
    const cancel = result.getOperations().find((operation) => operation.getName() === "cancel-flight");
    expect(cancel?.getStepDetails()?.attempt).toBe(8);
  });

  /** The deployed wiring with check-settings' wait for the token's secret shortened. */
  async function bookWithSecretWait(world: SimulatedWorld, secretReadTimeoutMs: number) {
    const server = await worldServer(world);
    try {
      deployedWiring(world, server.base); // the environment it sets
      const deps: TripDeps = {
        ...createRealDeps(() => ({ ...configFromEnv(), secretReadTimeoutMs })),
        breakerStore: world.deps.breakerStore,
      };
      const runner = new LocalDurableTestRunner<TripBooking>({
        handlerFunction: createHandler(deps, simulatedConfig()),
      });
      const started = realNow();
      const result = await runner.run({ payload: sampleTrip });
      return { result, seen: server.seen, elapsedMs: realNow() - started };
    } finally {
      await server.close();
    }
  }

  it("a Secrets Manager that does not answer in time fails the booking at check-settings, once, in bounded time", async () => {
    // It answers only once the booking is over: check-settings must stop waiting on its own (and the answer comes
    // before the next test reads the secret).
    let answer: () => void = () => undefined;
    const answered = new Promise<{ SecretString: string }>((resolve) => {
      answer = () => resolve({ SecretString: TRIP_TOKEN });
    });
    secrets.on(GetSecretValueCommand, { SecretId: TRIP_ARN }).callsFake(() => answered);
    const world = simulatedWorld();
    const { result, seen, elapsedMs } = await bookWithSecretWait(world, 300);
    answer();
    await answered;

    expect(result.getError().errorMessage).toBe(
      "Booking trip-2041 failed at check-settings: \"the providers' token (TRIP_API_TOKEN) was not read within " +
        '0.3 s: nothing was sent". Nothing to undo.',
    );
    // Over while the read was still unanswered; the bound is loose only for a busy machine's start-up.
    expect(elapsedMs).toBeLessThan(5_000);
    const check = result.getOperations().find((operation) => operation.getName() === "check-settings");
    expect(check?.getStepDetails()?.attempt).toBe(1); // not multiplied by retries
    expect(secretReads(TRIP_ARN)).toBe(1);
    expect(seen).toEqual([]);
    expect(world.calls).toEqual([]);
  });

  it("a Secrets Manager read that fails slowly (its client's own timeouts) is not tried again by check-settings", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: TRIP_ARN })
      .callsFake(
        () =>
          new Promise((_resolve, reject) =>
            setTimeout(
              () => reject(Object.assign(new Error("socket timed out"), { name: "TimeoutError" })),
              2_100,
            ),
          ),
      );
    const world = simulatedWorld();
    const { result, seen } = await bookWithSecretWait(world, 10_000);

    expect(result.getError().errorMessage).toMatch(
      /^Booking trip-2041 failed at check-settings: "TRIP_API_TOKEN could not be read from the secret in TRIP_API_TOKEN_SECRET_ARN \(TimeoutError\): nothing was sent \(after [2-9]\.\d s: not tried again\)"\. Nothing to undo\.$/,
    );
    const check = result.getOperations().find((operation) => operation.getName() === "check-settings");
    expect(check?.getStepDetails()?.attempt).toBe(1);
    expect(secretReads(TRIP_ARN)).toBe(1);
    expect(seen).toEqual([]);
  });

  it("a base URL that cannot be used fails the booking at check-settings, naming it, before any secret is read or anything sent", async () => {
    const world = simulatedWorld();
    const server = await worldServer(world);
    try {
      const runner = deployedWiring(world, server.base);
      process.env.HOTELS_API_URL = `http://svc:hunter2@${server.base.slice("http://".length)}/hotels`;
      const result = await runner.run({ payload: sampleTrip });

      expect(result.getError().errorMessage).toBe(
        "Booking trip-2041 failed at check-settings: \"hotelsUrl (HOTELS_API_URL): the service's base URL must not " +
          'contain credentials (user:password@)". Nothing to undo.',
      );
      expect(server.seen).toEqual([]);
      expect(world.calls).toEqual([]);
      expect(secretReads()).toBe(0);
      expect(stepError(result, "check-settings")?.errorType).toBe("HttpSettingError");
    } finally {
      await server.close();
    }
  });

  it("a missing PAYMENT_GATEWAY_TOKEN secret charges nothing, sends nothing to the gateway, and the booking compensates naming it", async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: GATEWAY_ARN })
      .rejects(new ResourceNotFoundException({ message: "no such secret", $metadata: {} }));
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world);

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toBe(
      'Booking trip-2041 failed at charge-payment: "PAYMENT_GATEWAY_TOKEN could not be read from the secret in ' +
        'PAYMENT_GATEWAY_TOKEN_SECRET_ARN (ResourceNotFoundException: no such secret, or it has no current value)". ' +
        "Undone: cancel-car, cancel-hotel, cancel-flight.",
    );
    expect(seen.filter((request) => request.url.startsWith("/gateway/"))).toEqual([]);
    expect(world.charges).toEqual([]);
    expect(world.held()).toEqual([]);
    // Not done, for certain: the refund is withdrawn, not looked up.
    expect(seen.filter((request) => request.url.startsWith("/payments/"))).toEqual([]);
    expect(secretReads(GATEWAY_ARN)).toBe(1);
  });
});

// -------------------------------------------------------------------------------------------------------------
// A provider's error text, as the saga keeps it
// -------------------------------------------------------------------------------------------------------------

describeLocal("a 1 MB error body that echoes the token", () => {
  const hostileBody = (token: string) =>
    `\u001b[31mERROR\u001b[0m\nrequest was:\r\nAuthorization: Bearer ${token}\n` +
    `{"echo":"${token}"}\n` +
    "\u001b[2J line\n".repeat(110_000).slice(0, 1024 * 1024);

  beforeEach(() => {
    process.env.TRIP_API_TOKEN_SECRET_ARN = TRIP_ARN;
    process.env.PAYMENT_GATEWAY_TOKEN_SECRET_ARN = GATEWAY_ARN;
    secrets.on(GetSecretValueCommand, { SecretId: TRIP_ARN }).resolves({ SecretString: TRIP_TOKEN });
    secrets.on(GetSecretValueCommand, { SecretId: GATEWAY_ARN }).resolves({ SecretString: GATEWAY_TOKEN });
  });

  /** Short, one line, without the token. */
  function expectSafe(text: string | undefined, token: string) {
    expect(text).toBeDefined();
    expect(text!.length).toBeLessThan(700);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u001f\u007f]/);
    expect(text).not.toContain(token);
  }

  it("from a provider ends in the step error and the execution error bounded, on one line, without the token", async () => {
    expect(hostileBody(TRIP_TOKEN).length).toBeGreaterThanOrEqual(1024 * 1024);
    const world = simulatedWorld();
    const { result, seen } = await bookThroughHttp(world, (request) =>
      request.method === "POST" && request.url === "/hotels/reservations"
        ? { status: 409, body: hostileBody(TRIP_TOKEN) }
        : undefined,
    );

    expect(seen.find((request) => request.url === "/hotels/reservations")?.headers.authorization).toBe(
      `Bearer ${TRIP_TOKEN}`,
    );
    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    const step = stepError(result, "reserve-hotel");
    expect(step?.errorType).toBe("ProviderRejectedError");
    expect(step?.errorMessage).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/hotels\/reservations answered 409: /,
    );
    expectSafe(step?.errorMessage, TRIP_TOKEN);
    expectSafe(result.getError().errorMessage, TRIP_TOKEN);
    expect(result.getError().errorMessage).toContain("[redacted]");
    expect(JSON.stringify(result.getHistoryEvents())).not.toContain(TRIP_TOKEN);
    expect(world.held()).toEqual([]);
  });

  it("from the payment gateway ends in the booking's error bounded, on one line, without the gateway's token", async () => {
    const world = simulatedWorld();
    const { result } = await bookThroughHttp(world, (request) =>
      request.url.startsWith("/gateway/") ? { status: 402, body: hostileBody(GATEWAY_TOKEN) } : undefined,
    );

    expect(result.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(result.getError().errorMessage).toMatch(
      /^Booking trip-2041 failed at charge-payment: "POST http:\/\/127\.0\.0\.1:\d+\/gateway\/charges answered 402: /,
    );
    expectSafe(result.getError().errorMessage, GATEWAY_TOKEN);
    expect(JSON.stringify(result.getHistoryEvents())).not.toContain(GATEWAY_TOKEN);
    expect(world.charges).toEqual([]);
    expect(world.held()).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------------------------
// Setting errors are never retried
// -------------------------------------------------------------------------------------------------------------

describe("a setting that cannot be used is not retried by any strategy", () => {
  const strategies: [string, (error: Error, attemptsMade: number) => { shouldRetry: boolean }][] = [
    ["retryReservation", policies.retryReservation],
    ["retryCarReservation", policies.retryCarReservation],
    ["cancelFlightRetry", policies.cancelFlightRetry],
    ["cancelHotelRetry", policies.cancelHotelRetry],
    ["cancelCarRetry", policies.cancelCarRetry],
    ["refundRetry", policies.refundRetry],
    ["chargeOutageRetry", policies.chargeOutageRetry],
    ["chargeRetryStrategy", chargeRetryStrategy],
    ["findBookingRetry", policies.findBookingRetry],
    ["lookUpRetry", policies.lookUpRetry],
    ["alertRetry", policies.alertRetry],
    ["breakerWriteRetry", policies.breakerWriteRetry],
  ];
  const missing = new SecretSettingError("TRIP_API_TOKEN could not be read", "TRIP_API_TOKEN");
  const badUrl = new HttpSettingError("flightsUrl (FLIGHTS_API_URL): not a URL");

  it.each(strategies)("%s: neither a SecretSettingError nor an HttpSettingError", (_name, strategy) => {
    expect(strategy(missing, 1).shouldRetry).toBe(false);
    expect(strategy(badUrl, 1).shouldRetry).toBe(false);
    // ...while an outage (what a throttled Secrets Manager becomes) is retried.
    expect(strategy(new ProviderUnavailableError("throttled"), 1).shouldRetry).toBe(true);
  });

  it("a Secrets Manager that failed for a while is an outage, not done, and names the setting", async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error("internal"), { name: "InternalServiceError" }));
    process.env.TRIP_API_TOKEN_SECRET_ARN = TRIP_ARN;
    process.env.FLIGHTS_API_URL = "http://127.0.0.1:9/flights";
    const error = await rejection(createRealDeps().flights.find({ idempotencyKey: "k" }));
    expect(error).toBeInstanceOf(ProviderUnavailableError);
    expect(error.message).toBe(
      "TRIP_API_TOKEN could not be read from the secret in TRIP_API_TOKEN_SECRET_ARN (InternalServiceError): " +
        "nothing was sent",
    );
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
