import { createHandler, defaultConfig, type CheckoutOutcome, type WorkflowConfig } from "../src";
import { simulatedWorld, type WorldOptions } from "../src/demo";
import { watchInvocations } from "./invocations";
import { createRunner } from "./target";

/**
 * Test durations: the payment timeout runs on real time in the local runner (callback timeouts are not
 * skipped), so it is generous where the test delivers the webhook and two seconds where it wants it to expire.
 */
export function testConfig(overrides: Partial<WorkflowConfig> = {}): WorkflowConfig {
  return { ...defaultConfig, paymentTimeout: { seconds: 60 }, ...overrides };
}
export const webhookNeverComes: Partial<WorkflowConfig> = { paymentTimeout: { seconds: 2 } };

/** A runner for the selected target; in the cloud only the bad-input tests run (see target.ts). */
export function setUp(options: WorldOptions = {}, config: WorkflowConfig = testConfig()) {
  const world = simulatedWorld(options);
  const invocations = watchInvocations(createHandler(world.deps, config));
  const runner = createRunner<CheckoutOutcome>({
    handler: invocations.handler,
    cloudOutput: "EntryPointsHandlerAliasArn",
  });
  // `suspended()` resolves once no local invocation is running (at once in the cloud): see test/invocations.ts.
  return { world, runner, suspended: invocations.suspended };
}

export const TEST_SECRET = "whsec_test_0123456789abcdef";
