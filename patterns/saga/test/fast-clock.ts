/**
 * A test-only speed-up for the local runner's fake clock, loaded by jest.config.js (`setupFilesAfterEnv`). This
 * file is identical in every pattern: copy it as is (tools/docs-check keeps the copies the same).
 *
 * Why: `LocalDurableTestRunner.setupTestEnvironment({ skipTime: true })` of @aws/durable-execution-sdk-js-testing
 * 1.1.4 installs @sinonjs/fake-timers with `shouldAdvanceTime: true` and the default `advanceTimeDelta` of 20 ms:
 * the fake clock moves only once every 20 ms of real time, so every checkpoint round trip, and every timer the SDK
 * or a fake schedules, waits for the next 20 ms tick. This helper moves that same clock every millisecond instead,
 * by the real time elapsed since its last move: fake time still runs as fast as real time, no faster and no slower
 * (a fixed 1 ms `advanceTimeDelta` would fall behind, since a busy event loop fires a 1 ms interval late), so a
 * test sees the same order of events and the same durations, with less idle waiting between them.
 *
 * What it relies on (each checked; if one does not hold it changes nothing and prints one warning):
 * - the testing package's package.json (found from its resolved main file) says version 1.1.4;
 * - `LocalDurableTestRunner.setupTestEnvironment` is a static function that, with `skipTime`, installs the clock
 *   synchronously and keeps it in the static field `LocalDurableTestRunner.fakeClock` (which
 *   `teardownTestEnvironment` uninstalls, and each `run()` hands to its orchestrator);
 * - that clock is a @sinonjs/fake-timers 15 clock (the testing package's dependency) that auto-advances
 *   (`clock.tickMode.mode === "interval"`), with `setTickMode` (here: "manual", which stops its 20 ms interval),
 *   `tick` and `uninstall` (wrapped to stop this helper's interval first).
 * The 1 ms interval is a native one, taken before any clock is installed. Only runs with `skipTime` are touched;
 * without it the runner installs no clock and this does nothing.
 *
 * How to remove it: delete this file and the `setupFilesAfterEnv` line in jest.config.js. The tests pass without
 * it, only slower; a pattern copied out works either way. When upgrading the testing package the version check
 * warns and the helper stands down: check whether the new version still ticks every 20 ms before re-enabling it
 * (raise SUPPORTED_VERSION), or remove it.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";

const TESTING_PACKAGE = "@aws/durable-execution-sdk-js-testing";
const SUPPORTED_VERSION = "1.1.4";
/** Real milliseconds between two moves of the fake clock (the package's default: 20). */
const FAST_TICK_MS = 1;

/*
 * Left alone on purpose: the fixed real 100 ms timer at the end of every `run()` (`executeHandler`'s `finally`).
 * It is what lets the runner's checkpoint polling loop deliver the run's last events: the result's history, and
 * with it `getInvocations()`, is refreshed only when polled checkpoint data arrives, so the last invocation's
 * InvocationCompleted becomes visible with the execution's final update. Shortened to 5 ms or less,
 * `getInvocations()` missed the last invocation in 3 of 200 runs on a loaded machine, against 0 of 120 with the
 * 100 ms (measured here; BENCHMARKS.md, "What is inherent").
 */

type SetupParams = Parameters<typeof LocalDurableTestRunner.setupTestEnvironment>[0];
interface AutoAdvancingClock {
  tickMode?: { mode?: string };
  setTickMode(config: { mode: "manual" }): void;
  tick(ms: number): unknown;
  uninstall(): unknown;
}
interface RunnerStatics {
  setupTestEnvironment: (params?: SetupParams) => Promise<void>;
  fakeClock?: unknown;
}

const runner = LocalDurableTestRunner as unknown as RunnerStatics;
// Taken now, before any test installs a fake clock over them.
const nativeSetInterval = setInterval;
const nativeClearInterval = clearInterval;
const realNow = performance.now.bind(performance);
const WARNED = Symbol.for("durable-cookbook.fast-clock.warned");

function warn(reason: string): void {
  // Once per jest process, past jest's console (which --silent mutes). Each test file has its own `process`
  // object, but the same stderr stream: the mark goes on the stream.
  const stream = process.stderr as unknown as Record<symbol, boolean>;
  if (stream[WARNED]) return;
  stream[WARNED] = true;
  process.stderr.write(
    `test/fast-clock.ts: not speeding up the fake clock (${reason}); the tests run at normal speed\n`,
  );
}

function installedVersion(): string | undefined {
  let dir = path.dirname(require.resolve(TESTING_PACKAGE));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === TESTING_PACKAGE) return manifest.version;
    } catch {
      // no package.json here: look one folder up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function isAutoAdvancingClock(clock: unknown): clock is AutoAdvancingClock {
  const candidate = clock as Partial<AutoAdvancingClock> | undefined;
  return (
    typeof candidate?.setTickMode === "function" &&
    typeof candidate.tick === "function" &&
    typeof candidate.uninstall === "function" &&
    candidate.tickMode?.mode === "interval"
  );
}

/** Stops the clock's own 20 ms interval and moves it, every millisecond, by the real time elapsed. */
function tickEveryMillisecond(clock: AutoAdvancingClock): void {
  clock.setTickMode({ mode: "manual" });
  let last = realNow();
  const interval = nativeSetInterval(() => {
    const elapsed = Math.floor(realNow() - last);
    if (elapsed < 1) return;
    last += elapsed;
    clock.tick(elapsed);
  }, FAST_TICK_MS);
  const uninstall = clock.uninstall.bind(clock);
  clock.uninstall = () => {
    nativeClearInterval(interval);
    return uninstall();
  };
}

function wrapSetup(): void {
  const version = installedVersion();
  if (version !== SUPPORTED_VERSION) {
    warn(`${TESTING_PACKAGE} is ${version ?? "not found"}, it was written for ${SUPPORTED_VERSION}`);
    return;
  }
  if (typeof runner.setupTestEnvironment !== "function" || !Object.hasOwn(runner, "fakeClock")) {
    warn("LocalDurableTestRunner has no static setupTestEnvironment or fakeClock");
    return;
  }
  const original = runner.setupTestEnvironment;
  runner.setupTestEnvironment = function fastClockSetup(this: unknown, params?: SetupParams) {
    // The clock is installed synchronously, before the checkpoint worker starts: speed it up from here.
    const setup = original.call(this, params);
    if (params?.skipTime) {
      const clock = runner.fakeClock;
      if (isAutoAdvancingClock(clock)) tickEveryMillisecond(clock);
      else warn("with skipTime, LocalDurableTestRunner.fakeClock is not an auto-advancing fake-timers clock");
    }
    return setup;
  };
}

wrapSetup();
