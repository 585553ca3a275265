import { spawnSync } from "node:child_process";
import path from "node:path";

/**
 * What is inherent to SDK 2.4.0 and testing 1.1.4, not to the cookbook: each with a standalone reproduction in
 * tools/bench/repro/ (`pnpm --filter @durable-cookbook/bench exec tsx repro/<file>.ts`), where in the package's
 * code it comes from, and what a user can do about it. The bench runs each and prints what it measured.
 */
/** A repro's JSON line: numbers, and the few arrays and objects each describe() casts. */
type Measured = Record<string, number>;

export interface Repro {
  file: string;
  limit: string;
  /** The package, file and function it comes from. */
  where: string;
  whatToDo: string;
  /** The line to print from the repro's JSON. */
  describe: (measured: Measured) => string;
}

export const REPROS: Repro[] = [
  {
    file: "fake-clock-tick.ts",
    limit: "Under skipTime every checkpoint round trip waits for the fake clock's 20 ms tick",
    where:
      "testing `dist-cjs/index.js`, `LocalDurableTestRunner.setupTestEnvironment`: `fakeTimers.install({ shouldAdvanceTime: true, ... })` without `advanceTimeDelta`, so @sinonjs/fake-timers' default 20 ms (`config.advanceTimeDelta ||= 20`); `setupTestEnvironment` accepts only `skipTime` and `checkpointDelay`",
    whatToDo:
      "Use real timers (`skipTime: false`) for tests without long waits (compare the two numbers measured). Keep skipTime for waits of minutes or more. Fakes must not schedule a timer for zero latency (each costs a tick). Changing the tick means reaching the runner's clock: every pattern's `test/fast-clock.ts` does it for the tests, version-guarded (the clock moved every millisecond by the real time elapsed).",
    describe: (m) =>
      `${m.steps} sequential steps: ${m.skipTimeMsPerStep} ms per step under skipTime (tick ${JSON.stringify(m.tickMode)}), ${m.realTimersMsPerStep} ms with real timers`,
  },
  {
    file: "run-tail.ts",
    limit: "Every `run()` ends with a fixed 100 ms real timer",
    where:
      "testing `dist-cjs/index.js`, `TestExecutionOrchestrator.executeHandler`, its `finally`: `realSetTimeout(() => { abortController.abort(); resolve(); }, 100)` to stop the polling loop (a TODO in the code); a real timer, so skipTime does not shorten it. It is also what completes the result: `LocalOperationStorage.getHistoryEvents()` is refreshed only when polled checkpoint data arrives, so the last invocation's InvocationCompleted (which `getInvocations()` counts) shows only once the execution's final update has been polled in",
    whatToDo:
      "Run fewer: one run per scenario with several assertions on it, not one run per assertion. Do not shorten the timer: at 5 ms or less, `getInvocations()` missed the last invocation in 3 of 200 runs on a loaded machine here (0 of 120 at 100 ms), the history lacking its last events.",
    describe: (m) =>
      `run() of a handler with no operations: median ${m.medianRunMs} ms (fastest ${m.minRunMs} ms); the handler itself ${m.handlerMsPerRun} ms`,
  },
  {
    file: "checkpoint-scans.ts",
    limit:
      "Every checkpoint rescans every operation (SDK and local runner): cost per item grows with the execution",
    where:
      "SDK `dist-cjs/index.js`, `CheckpointManager.updateStepDataFromCheckpointResponse` (`Object.keys(this.stepData)` for a debug log discarded at the default level, and `toOperationInfoMap(this.stepData)` for `onOperationChange`, called even with no plugins) and `CheckpointManager.shouldTerminate` (`Array.from(this.operations.values())`); testing `LocalOperationStorage.populateOperations` (copies the whole history on every poll: a TODO in the code)",
    whatToDo:
      "Fewer operations: chunk large batches (map-parallel's `src/chunked.ts`: 0.02 operations per invoice instead of 3), FLAT nesting for maps of plain steps. The SDK's two scans run in Lambda too, so this is a production cost, not only a test one.",
    describe: (m) => {
      const rows = m.rows as unknown as Array<{ items: number; msPerItem: number }>;
      const profile = m.profile as unknown as
        { totalMs: number; byFunction: Record<string, number> } | undefined;
      const scans = Object.values(profile?.byFunction ?? {}).reduce((a, b) => a + b, 0);
      return (
        `NESTED map, one step an item, real timers: ${rows.map((r) => `${r.items}: ${r.msPerItem} ms/item`).join(", ")} (${m.perItemGrowth}x per item for ${m.itemsGrowth}x the items); ` +
        `at ${rows.at(-1)?.items} items the three scans took ${scans} of ${profile?.totalMs} ms sampled on the main thread (${Object.entries(
          profile?.byFunction ?? {},
        )
          .map(([name, ms]) => `${name} ${ms} ms`)
          .join(", ")})`
      );
    },
  },
  {
    file: "worker-leak.ts",
    limit:
      "Each setupTestEnvironment/teardownTestEnvironment cycle leaves its checkpoint worker thread running",
    where:
      "testing `dist-cjs/index.js`, `CheckpointWorkerManager.teardown`: only `worker.unref()` (its `terminate()` is in a `catch` that is never reached), then the worker is forgotten",
    whatToDo:
      "One cycle per process: Jest's `beforeAll`/`afterAll` per test file is fine (each file's worker process exits); a long-lived process (a demo runner, a bench, a watch mode) should set up once (this bench: tools/bench/src/environment.ts).",
    describe: (m) =>
      `${m.cycles} cycles: threads ${m.threadsBefore} -> ${(m.threadsAfter as unknown as number[]).join(", ")}; +${m.threadsPerCycle} thread and +${m.rssMbPerCycle} MB RSS per cycle`,
  },
];

export interface ReproOutcome {
  file: string;
  measured?: Measured;
  line: string;
}

/** Runs one repro in its own process, as a maintainer would, and reads its JSON line. */
export function runRepro(repro: Repro): ReproOutcome {
  const result = spawnSync(process.execPath, ["--import", "tsx", path.join("repro", repro.file), "--json"], {
    cwd: path.join(__dirname, ".."),
    encoding: "utf8",
    env: { ...process.env, AWS_LAMBDA_LOG_LEVEL: "WARN" },
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = result.stdout.trim().split("\n").at(-1) ?? "";
  if (result.status !== 0 || !last.startsWith("{")) {
    return { file: repro.file, line: `failed (exit ${result.status}): ${result.stderr.slice(-300)}` };
  }
  const measured = JSON.parse(last) as Measured;
  return { file: repro.file, measured, line: repro.describe(measured) };
}
