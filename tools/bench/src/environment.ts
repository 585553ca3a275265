import {
  DurableExecutionInvocationInputWithClient,
  type DurableExecutionClient,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";

/**
 * One local-runner environment for the whole bench process.
 *
 * Each `LocalDurableTestRunner.setupTestEnvironment` starts a checkpoint worker thread, and testing 1.1.4's
 * `teardownTestEnvironment` only `unref()`s it (CheckpointWorkerManager.teardown): the thread stays, about
 * 32 MB each (tools/bench/repro/worker-leak.ts measures it). The demo runner's `runLocally` does one cycle per
 * run; the bench used to pay one per measured run. Here the bench sets up once, and while `fn` runs the
 * runner's setup and teardown are no-ops, so `runLocally` (and any runner) uses this one environment and its
 * one fake clock. Restored afterwards, then torn down once.
 */
export async function inOneEnvironment<T>(skipTime: boolean, fn: () => Promise<T>): Promise<T> {
  const runner = LocalDurableTestRunner as unknown as {
    setupTestEnvironment: typeof LocalDurableTestRunner.setupTestEnvironment;
    teardownTestEnvironment: typeof LocalDurableTestRunner.teardownTestEnvironment;
  };
  const setup = runner.setupTestEnvironment;
  const teardown = runner.teardownTestEnvironment;
  await setup.call(LocalDurableTestRunner, { skipTime });
  runner.setupTestEnvironment = async () => undefined;
  runner.teardownTestEnvironment = async () => undefined;
  try {
    return await fn();
  } finally {
    runner.setupTestEnvironment = setup;
    runner.teardownTestEnvironment = teardown;
    await teardown.call(LocalDurableTestRunner);
  }
}

/** The fake clock @sinonjs/fake-timers installs (it hangs itself on every faked function as `.clock`). */
interface FakeClock {
  now: number;
  tick(ms: number): number;
  timers?: Map<number, { callAt: number }>;
}

export interface TickCount {
  /** Interval ticks of the fake clock (shouldAdvanceTime: every 20 ms of real time). */
  ticks: number;
  /** Of those, ticks that had at least one timer due, so fired something. */
  firingTicks: number;
  /** Other advances: the runner's own jumps to a wait's or a retry's end. */
  jumps: number;
}

/**
 * Counts the fake clock's ticks under skipTime by wrapping its `tick`: fake-timers' interval calls
 * `clock.tick(advanceTimeDelta)` (20 ms by default) every 20 ms of real time, and a timer (a checkpoint
 * round trip's, a fake's latency) fires only on such a tick. A tick of any other length is the runner
 * jumping to a wait's end. Returns undefined when no fake clock is installed (real timers).
 */
export function countTicks(advanceTimeDelta = 20): (() => TickCount) | undefined {
  const clock = (globalThis.setTimeout as unknown as { clock?: FakeClock }).clock;
  if (!clock) return undefined;
  const count: TickCount = { ticks: 0, firingTicks: 0, jumps: 0 };
  const tick = clock.tick.bind(clock);
  clock.tick = (ms: number) => {
    if (ms === advanceTimeDelta) {
      count.ticks += 1;
      const due = clock.now + ms;
      for (const timer of clock.timers?.values() ?? []) {
        if (timer.callAt <= due) {
          count.firingTicks += 1;
          break;
        }
      }
    } else {
      count.jumps += 1;
    }
    return tick(ms);
  };
  return () => ({ ...count });
}

/** A handler whose checkpoint calls are counted: each is one round trip to the (local) durable service. */
export function countingCheckpoints(handler: DurableLambdaHandler): {
  handler: DurableLambdaHandler;
  checkpoints: () => number;
} {
  let checkpoints = 0;
  const counted: DurableLambdaHandler = (input, lambdaContext) => {
    const server = (input as DurableExecutionInvocationInputWithClient).durableExecutionClient;
    if (!server) return handler(input, lambdaContext);
    const client: DurableExecutionClient = {
      getExecutionState: (request, logger) => server.getExecutionState(request, logger),
      checkpoint: (request, logger) => {
        checkpoints += 1;
        return server.checkpoint(request, logger);
      },
    };
    return handler(new DurableExecutionInvocationInputWithClient(input, client), lambdaContext);
  };
  return { handler: counted, checkpoints: () => checkpoints };
}
