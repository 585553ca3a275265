import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, SettingError, type FulfilmentResult, type OrderDeps } from "../src";
import { sampleOrder, simulatedWorld, type Fault, type WorldOptions } from "../src/demo";
import { NotSentError, SettingUnavailableError } from "../src/deps";
import { attemptError } from "../src/provider-call";
import { outcomeOfFailedStep } from "../src/call-outcome";
import { setupTestEnvironment, teardownTestEnvironment } from "./target";

// An attempt that failed on a setting sent nothing; the call is not done only if no attempt was sent. The simulated
// providers keep their own records (stock held or released, charges, shipments), and the tests assert on those.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const throttledSecret = (): Fault => ({
  acted: false,
  throws: () =>
    new SettingUnavailableError(
      "ORDER_API_TOKEN could not be read from the secret in ORDER_API_TOKEN_SECRET_ARN (ThrottlingException); this attempt sent nothing",
      "ORDER_API_TOKEN",
    ),
});
const deletedSecret = (): Fault => ({
  acted: false,
  throws: () =>
    new SettingError(
      "ORDER_API_TOKEN could not be read from the secret in ORDER_API_TOKEN_SECRET_ARN (ResourceNotFoundException)",
      "ORDER_API_TOKEN",
    ),
});

async function run(options: WorldOptions, extra: Partial<OrderDeps> = {}) {
  const world = simulatedWorld(options);
  const runner = new LocalDurableTestRunner<FulfilmentResult>({
    handlerFunction: createHandler({ ...world.deps, ...extra }),
  });
  const result = await runner.run({ payload: sampleOrder });
  const error = result.getStatus() === ExecutionStatus.FAILED ? result.getError() : undefined;
  return { world, runner, result, error };
}

describe("an attempt that failed on a setting sent nothing", () => {
  it("a secret unreadable for now on reserve-stock's first attempt: not done, nothing held, no release, no in-doubt alarm", async () => {
    const { world, runner, error } = await run({ faults: { reserve: [throttledSecret()] } });

    expect(world.records.stock).toEqual([]);
    expect(world.calls.map((c) => c.call)).toEqual(["reserve"]); // not retried, nothing to release
    expect(runner.getOperation("reserve-stock").getStepDetails()?.attempt).toBe(1);
    expect(error?.errorType).toBe("OrderFailedError");
    expect(error?.errorMessage).toContain("Nothing was reserved or charged");
    expect(error?.errorMessage).toContain("nothing was ever sent");
    expect(error?.errorMessage).not.toMatch(/in doubt|by hand/i);
  });

  it("a setting broken after an attempt in doubt held stock: in doubt, retried with the same key, released by key", async () => {
    // Attempt 1 held the stock and its reply was lost; attempts 2-4 fail on the deleted secret before sending.
    const faults = ["lost-reply" as const, deletedSecret(), deletedSecret(), deletedSecret()];
    const { world, error } = await run({ faults: { reserve: faults } });

    expect(world.records.stock).toHaveLength(1);
    // Before, the step's last error (a SettingError) made it "not done", and the stock stayed held, unreleased.
    expect(world.records.stock[0]!.status).toBe("released");
    expect(world.records.charges).toEqual([]);
    expect(error?.errorType).toBe("OrderFailedError");
    expect(error?.errorMessage).toContain("in doubt");
    expect(error?.errorMessage).toContain("an earlier attempt may have reached the provider");
    expect(error?.errorMessage).toContain("released by that key");
  });

  it("a setting broken for one attempt after a lost reply: the next attempt, by the same key, gets the first hold", async () => {
    const { world, result } = await run({ faults: { reserve: ["lost-reply", deletedSecret()] } });

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.records.stock).toHaveLength(1);
    expect(world.records.stock[0]!.status).toBe("held");
    expect(world.records.shipments).toHaveLength(1);
  });

  it("a secret unreadable for now on create-shipment's first attempt: not shipped, the charge and stock named", async () => {
    const { world, error } = await run({ faults: { ship: [throttledSecret()] } });

    expect(world.records.shipments).toEqual([]);
    expect(world.records.charges).toHaveLength(1);
    expect(world.calls.filter((c) => c.call === "ship")).toHaveLength(1);
    expect(error?.errorType).toBe("OrderFailedError");
    expect(error?.errorMessage).toContain("failed at create-shipment");
    expect(error?.errorMessage).not.toMatch(/in doubt/i);
  });
});

describe("check-settings", () => {
  it("a Secrets Manager throttling for a while is ridden out: retried, then the order is fulfilled", async () => {
    let checks = 0;
    const checkSettings = () => {
      checks += 1;
      if (checks < 3) return Promise.reject(unavailable());
      return Promise.resolve();
    };
    const { world, result } = await run({}, { checkSettings });

    expect(checks).toBe(3);
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(world.records.charges).toHaveLength(1);
  });

  it("a setting that cannot be used fails the order before anything is sent, checked once", async () => {
    let checks = 0;
    const checkSettings = () => {
      checks += 1;
      return Promise.reject(
        new SettingError("SHIPPING_API_URL (shippingUrl): not https", "SHIPPING_API_URL"),
      );
    };
    const { world, error } = await run({}, { checkSettings });

    expect(checks).toBe(1);
    expect(world.calls).toEqual([]);
    expect(error?.errorType).toBe("OrderFailedError");
    expect(error?.errorMessage).toContain("failed at check-settings: SHIPPING_API_URL");
    expect(error?.errorMessage).toContain("Nothing was sent");
  });

  it("a custom check's 100 KB error is bounded before it is checkpointed", async () => {
    const checkSettings = () => Promise.reject(new SettingError("x".repeat(100_000), "CUSTOM"));
    const { world, error } = await run({}, { checkSettings });

    expect(world.calls).toEqual([]);
    expect(error?.errorType).toBe("OrderFailedError");
    expect((error?.errorMessage ?? "").length).toBeLessThan(1_500);
  });
});

describe("attemptError", () => {
  it("leaves errors that say nothing about settings as they are", () => {
    const other = new Error("boom");
    expect(attemptError(other, 1)).toBe(other);
    expect(attemptError(other, 3)).toBe(other);
  });

  it("a setting error on the first attempt is not done; on a later one, in doubt", () => {
    const first = attemptError(unavailable(), 1);
    expect(first).toBeInstanceOf(NotSentError);
    expect(outcomeOfFailedStep(asStepError(first), { stopsInDoubt: false })).toBe("not-done");

    const later = attemptError(new SettingError("gone", "ORDER_API_TOKEN"), 2);
    expect((later as Error).name).toBe("OutcomeInDoubtError");
    expect(outcomeOfFailedStep(asStepError(later), { stopsInDoubt: false })).toBe("in-doubt");

    const laterUnavailable = attemptError(unavailable(), 2);
    expect(laterUnavailable).toBeInstanceOf(SettingUnavailableError);
    expect(outcomeOfFailedStep(asStepError(laterUnavailable), { stopsInDoubt: false })).toBe("in-doubt");
  });
});

function unavailable(): SettingUnavailableError {
  return new SettingUnavailableError(
    "ORDER_API_TOKEN could not be read (ThrottlingException)",
    "ORDER_API_TOKEN",
  );
}

/** As the SDK reports a failed step: its own error, the provider's error's name on `cause`. */
function asStepError(error: unknown): Error {
  return new Error("step failed", { cause: error });
}
