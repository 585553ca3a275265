import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, ProviderHttpError, type BillingDeps, type BillingRunResult } from "../src";
import { quickConfig, sampleBatch, simulatedWorld } from "../src/demo";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// A custom dep may throw anything. A step checkpoints its error, and past 32 KB that checkpoint fails
// unrecoverably ("Error object size must be less than 32768 bytes": the invocation dies, and so does every retry).
// The workflow bounds every dep's error (withBoundedErrors), keeping its class for the retry decisions.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const HUGE = 100_000;
const huge = (what: string) => `${what} ${"z".repeat(HUGE)}`;

describeLocal("errors a custom dep throws are bounded before a step checkpoints them", () => {
  const run = async (change: (deps: BillingDeps, calls: string[]) => BillingDeps) => {
    const world = simulatedWorld({ documentBytes: 1024 });
    const calls: string[] = [];
    const runner = new LocalDurableTestRunner<BillingRunResult>({
      handlerFunction: createHandler(change(world.deps, calls), quickConfig),
    });
    const execution = await runner.run({ payload: sampleBatch(2) });
    return { world, runner, execution, calls };
  };

  it("a CRM dep's 100 KB 503, every time: retried as the outage it is (3 attempts), then the run fails, bounded", async () => {
    const { world, execution, calls } = await run((deps, calls) => ({
      ...deps,
      crm: {
        getCustomer: async () => {
          calls.push("crm");
          throw new ProviderHttpError(503, huge("crm down"));
        },
      },
    }));
    expect(execution.getStatus()).toBe(ExecutionStatus.FAILED);
    expect(calls).toHaveLength(3);
    const message = execution.getError()?.errorMessage ?? "";
    expect(message).toContain("crm down");
    expect(message.length).toBeLessThan(1_500);
    expect(world.renders).toEqual([]);
    expect(world.emails).toEqual([]);
  });

  it("a renderer's 100 KB error fails that invoice, bounded, and nothing is sent for it", async () => {
    const { world, execution } = await run((deps) => ({
      ...deps,
      renderer: {
        render: async () => {
          throw new Error(huge("template broken"));
        },
      },
    }));
    // Both invoices fail (the default policy halts the pass); the run reports them.
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = execution.getResult()!;
    expect(outcome.sent).toEqual([]);
    for (const entry of [...outcome.failed, ...outcome.inDoubt])
      expect(entry.error.length).toBeLessThan(1_500);
    expect(outcome.failed[0]?.error).toContain("template broken");
    expect(world.deliveries).toEqual([]);
    expect(world.emails).toEqual([]);
  });

  it("an FX provider's 100 KB error discards its quote, bounded; the batch is sent", async () => {
    const { world, execution } = await run((deps) => ({
      ...deps,
      fxProviders: deps.fxProviders.map((provider) =>
        provider.name === "atlas"
          ? {
              name: "atlas",
              getRate: async () => {
                throw new Error(huge("atlas broken"));
              },
            }
          : provider,
      ),
    }));
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = execution.getResult()!;
    expect(world.accepted()).toHaveLength(2);
    const discarded = outcome.fx?.discarded.find((entry) => entry.provider === "atlas");
    expect(discarded?.reason).toContain("atlas broken");
    expect(discarded!.reason.length).toBeLessThan(1_500);
  });

  it("a document store's thrown string (not an Error) of 100 KB fails the invoice, bounded", async () => {
    const { world, execution } = await run((deps) => ({
      ...deps,
      documents: {
        put: async () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a careless custom dep does
          throw huge("store full");
        },
      },
    }));
    expect(execution.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    const outcome = execution.getResult()!;
    expect(outcome.failed[0]?.error).toContain("store full");
    expect(outcome.failed[0]!.error.length).toBeLessThan(1_500);
    expect(world.emails).toEqual([]);
  });
});
