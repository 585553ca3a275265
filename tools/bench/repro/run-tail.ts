/**
 * Repro: every `run()` of the local runner ends with a fixed 100 ms real timer.
 *
 *   pnpm --filter @durable-cookbook/bench exec tsx repro/run-tail.ts
 *
 * testing 1.1.4, dist-cjs/index.js, `TestExecutionOrchestrator.executeHandler`: its `finally` stops the
 * checkpoint polling loop only after `realSetTimeout(() => { abortController.abort(); resolve(); }, 100)`
 * ("TODO: improve the polling mechanism so that we don't need an arbitrary timer"). It is a real timer, so
 * skipTime does not shorten it, and `run()` resolves only after it: a handler that does nothing still takes
 * about 100 ms per run. A suite of 60 runs pays 6 s.
 */
import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";

process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
const realNow = performance.now.bind(performance);
const RUNS = 10;

async function main() {
  let handlerMs = 0;
  const nothing = withDurableExecution(async () => {
    const started = realNow();
    const answer = "done";
    handlerMs += realNow() - started;
    return answer;
  });
  const times: number[] = [];
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  try {
    const runner = new LocalDurableTestRunner({ handlerFunction: nothing });
    await runner.run({ payload: {} }); // warm-up
    handlerMs = 0;
    for (let i = 0; i < RUNS; i += 1) {
      const started = realNow();
      const result = await runner.run({ payload: {} });
      times.push(realNow() - started);
      if (result.getResult() !== "done") throw new Error("unexpected result");
    }
  } finally {
    await LocalDurableTestRunner.teardownTestEnvironment();
  }
  times.sort((a, b) => a - b);
  const measured = {
    runs: RUNS,
    medianRunMs: Number(times[Math.floor(RUNS / 2)]!.toFixed(1)),
    minRunMs: Number(times[0]!.toFixed(1)),
    handlerMsPerRun: Number((handlerMs / RUNS).toFixed(3)),
  };
  console.log(
    `run() of a handler with no operations, ${RUNS} runs: median ${measured.medianRunMs} ms, fastest ` +
      `${measured.minRunMs} ms; the handler's own code took ${measured.handlerMsPerRun} ms per run`,
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
