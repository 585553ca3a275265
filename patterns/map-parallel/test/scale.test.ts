import { NestingType } from "@aws/durable-execution-sdk-js";
import { ExecutionStatus, LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, MAX_INVOICES_PER_BATCH, type BillingRunResult } from "../src";
import { sampleBatch, simulatedWorld } from "../src/demo";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// A full batch of 1,000 invoices, five at a time, in both nestings. Real timers: under skipTime each
// checkpoint round trip waits for a 20 ms tick, which makes 1,000 items take about 12 s instead of about 2 s.
// Local only (itLocal): it measures the local runner and counts deliveries in the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: false }));
afterAll(() => teardownTestEnvironment());

itLocal.each([
  // per invoice: item context + render + deliver (NESTED), or render + deliver (FLAT);
  // plus the map itself, 14 for enrich-customer and quote-fx-rate, and 1 for check-settings (added after the
  // review of map-parallel: the sends' settings are checked before the map).
  [NestingType.NESTED, 3 * MAX_INVOICES_PER_BATCH + 1 + 14 + 1],
  [NestingType.FLAT, 2 * MAX_INVOICES_PER_BATCH + 1 + 14 + 1],
])(
  "sends 1,000 invoices under %s with the expected operation count",
  async (nesting, operations) => {
    const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 1024 });
    const runner = new LocalDurableTestRunner<BillingRunResult>({
      handlerFunction: createHandler(world.deps, { nesting }),
    });

    const started = Date.now();
    const result = await runner.run({ payload: sampleBatch(MAX_INVOICES_PER_BATCH) });
    const wallMs = Date.now() - started;

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()?.firstPass).toMatchObject({ succeeded: 1000, failed: 0 });
    expect(result.getOperations()).toHaveLength(operations);
    expect(world.accepted()).toHaveLength(1000);
    expect(world.maxInFlight()).toBe(5);
    // The map's own checkpoint holds 1,000 small results: about 160 KB, under the 256 KB limit.
    const mapResult = JSON.stringify(runner.getOperation("send-invoices").getContextDetails()?.result);
    expect(mapResult.length).toBeLessThan(256 * 1024);
    console.log(
      `${nesting}: 1,000 invoices in ${wallMs} ms, ${operations} operations, map result ${mapResult.length} bytes`,
    );
  },
  60_000,
);
