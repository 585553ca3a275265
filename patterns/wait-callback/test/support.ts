import { createHandler, defaultConfig, type PurchaseOutcome, type WorkflowConfig } from "../src";
import { simulatedWorld, type WorldOptions } from "../src/demo";
import { createRunner } from "./target";

// Captured before setupTestEnvironment installs fake timers: the heartbeat test needs real delays and a real
// clock, because callback timeouts run on real time in the local runner while waits are skipped.
const realSetTimeout = globalThis.setTimeout;
const realNow = performance.now.bind(performance);
export const sleepReally = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));
export const nowReally = () => realNow();

/**
 * Test durations. Waits and polling delays keep their real values (skipTime skips them). Callback timeouts run on
 * real time, so they are generous where the test answers (no race with a busy machine) and set to a second or
 * two by the tests that want them to expire.
 */
export function testConfig(overrides: Partial<WorkflowConfig> = {}): WorkflowConfig {
  return {
    ...defaultConfig,
    manager: { timeout: { seconds: 60 }, heartbeatTimeout: { seconds: 60 } },
    director: { ...defaultConfig.director, timeout: { seconds: 60 } },
    ...overrides,
  };
}

export const managerGoesQuiet = { manager: { timeout: { seconds: 2 }, heartbeatTimeout: { seconds: 1 } } };

/**
 * A runner for the selected target (see target.ts). In the cloud the deployed function runs with its default
 * config and its real services: the world and the config given here only apply locally. `callbacks: false` for
 * a test that answers no callback (the cloud runner then invokes synchronously).
 */
export function setUp(
  options: WorldOptions = {},
  config: WorkflowConfig = testConfig(),
  { callbacks = true }: { callbacks?: boolean } = {},
) {
  const world = simulatedWorld(options);
  const runner = createRunner<PurchaseOutcome>({
    handler: createHandler(world.deps, config),
    cloudOutput: "WaitCallbackHandlerAliasArn",
    callbacks,
  });
  return { world, runner };
}

export const approve = (decidedBy: string, comment?: string) =>
  JSON.stringify(
    comment === undefined ? { decision: "approve", decidedBy } : { decision: "approve", decidedBy, comment },
  );
