/**
 * Repro: under skipTime every checkpoint round trip waits for the fake clock's next 20 ms tick.
 *
 *   pnpm --filter @durable-cookbook/bench exec tsx repro/fake-clock-tick.ts
 *
 * testing 1.1.4's `LocalDurableTestRunner.setupTestEnvironment({ skipTime: true })` (dist-cjs/index.js) installs
 * @sinonjs/fake-timers with `shouldAdvanceTime: true` and no `advanceTimeDelta`, so fake-timers' default applies
 * (`config.advanceTimeDelta ||= 20`, src/fake-timers-src.js): the fake clock advances 20 ms every 20 ms of real
 * time, from a native setInterval. The SDK's checkpoint batching and the runner's polling wait on fake timers,
 * and a fake timer fires only on such a tick, so a sequential step costs about one tick of wall time while the
 * CPU idles. The same handler with real timers shows what the work itself costs.
 */
import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";

process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
const realNow = performance.now.bind(performance);
const STEPS = 50;

const sequentialSteps = withDurableExecution(async (_event: unknown, context: DurableContext) => {
  for (let i = 0; i < STEPS; i += 1) await context.step(`step-${i}`, async () => i);
  return STEPS;
});

async function timeRun(skipTime: boolean) {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime });
  try {
    const clock = (
      globalThis.setTimeout as unknown as { clock?: { tickMode?: { mode: string; delta?: number } } }
    ).clock;
    const runner = new LocalDurableTestRunner({ handlerFunction: sequentialSteps });
    await runner.run({ payload: {} }); // warm-up: module compilation
    const started = realNow();
    const result = await runner.run({ payload: {} });
    const wallMs = realNow() - started;
    if (result.getResult() !== STEPS) throw new Error(`unexpected result ${String(result.getResult())}`);
    return { wallMs, tick: clock?.tickMode };
  } finally {
    await LocalDurableTestRunner.teardownTestEnvironment();
  }
}

async function main() {
  const skip = await timeRun(true);
  const real = await timeRun(false);
  // The 100 ms at the end of every run() is the same in both (see run-tail.ts): take it out of the per-step cost.
  const perStep = (wallMs: number) => (wallMs - 100) / STEPS;
  const measured = {
    steps: STEPS,
    tickMode: skip.tick ?? null,
    skipTimeMsPerStep: Number(perStep(skip.wallMs).toFixed(1)),
    realTimersMsPerStep: Number(perStep(real.wallMs).toFixed(1)),
    skipTimeWallMs: Math.round(skip.wallMs),
    realTimersWallMs: Math.round(real.wallMs),
  };
  console.log(
    `fake clock: ${JSON.stringify(skip.tick)}; ${STEPS} sequential steps: skipTime ${measured.skipTimeWallMs} ms ` +
      `(${measured.skipTimeMsPerStep} ms per step), real timers ${measured.realTimersWallMs} ms ` +
      `(${measured.realTimersMsPerStep} ms per step)`,
  );
  if (process.argv.includes("--json")) console.log(JSON.stringify(measured));
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
