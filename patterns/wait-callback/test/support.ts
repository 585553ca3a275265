import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import {
  createHandler,
  defaultConfig,
  handlePurchaseRequest,
  type PurchaseDeps,
  type PurchaseOutcome,
  type WorkflowConfig,
} from "../src";
import { simulatedWorld, type WorldOptions } from "../src/demo";
import { WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { watchInvocations } from "./invocations";
import { createRunner, type TestRunner } from "./target";

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
  { callbacks = true, logger }: { callbacks?: boolean; logger?: RecordingLogger } = {},
) {
  const world = simulatedWorld(options);
  const invocations = watchInvocations(
    logger ? handlerLoggingTo(logger, world.deps, config) : createHandler(world.deps, config),
  );
  const runner = createRunner<PurchaseOutcome>({
    handler: invocations.handler,
    cloudOutput: "WaitCallbackHandlerAliasArn",
    callbacks,
  });
  // `suspended()` resolves once no local invocation is running (at once in the cloud): see test/invocations.ts.
  return { world, runner, suspended: invocations.suspended };
}

/** Every line the workflow logs through context.logger (and the step loggers), as level and arguments. */
export interface RecordingLogger {
  lines: Array<{ level: string; message: unknown; data: unknown[] }>;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
}
export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger["lines"] = [];
  const at =
    (level: string) =>
    (message: unknown, ...data: unknown[]) =>
      void lines.push({ level, message, data });
  return { lines, info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
}

/** The handler, with the execution's logger replaced by one the test reads (local runs only). */
export function handlerLoggingTo(logger: RecordingLogger, deps: PurchaseDeps, config: WorkflowConfig) {
  return withDurableExecution(async (event: unknown, context) => {
    context.configureLogger({ customLogger: logger });
    return handlePurchaseRequest(event, context, deps, config);
  });
}

export const reject = (decidedBy: string, comment?: string) =>
  JSON.stringify(
    comment === undefined ? { decision: "reject", decidedBy } : { decision: "reject", decidedBy, comment },
  );

export const approve = (decidedBy: string, comment?: string) =>
  JSON.stringify(
    comment === undefined ? { decision: "approve", decidedBy } : { decision: "approve", decidedBy, comment },
  );

/**
 * Resolves once the manager has her link for `round`: the callback exists and notify-manager, the step that
 * sends it to her, has completed. (For a callback, SUBMITTED means completed; only waitForCallback has a
 * submitter of its own to wait for.)
 */
export const managerHasLink = <T>(runner: TestRunner<T>, round = 1) =>
  runner
    .getOperation(round === 1 ? "notify-manager" : `notify-manager-round-${round}`)
    .waitForData(WaitingOperationStatus.COMPLETED);
