/**
 * Repro: each setupTestEnvironment / teardownTestEnvironment cycle leaves its checkpoint worker thread running.
 *
 *   pnpm --filter @durable-cookbook/bench exec tsx repro/worker-leak.ts
 *
 * testing 1.1.4, dist-cjs/index.js: `CheckpointWorkerManager.setup` starts a `worker_threads.Worker` (the local
 * checkpoint server), and `CheckpointWorkerManager.teardown` only calls `worker.unref()` (the `terminate()` is in
 * a `catch` that `unref()` never reaches), then forgets the worker. The thread keeps running, with its heap:
 * the process's thread count and RSS grow with every cycle. Linux only (it reads /proc/self/status).
 */
import { readFileSync } from "node:fs";
import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";

process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
const CYCLES = 6;

const threads = () =>
  Number(/^Threads:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN);
const rssMb = () => process.memoryUsage().rss / 1024 ** 2;
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 300));

const oneStep = withDurableExecution(async (_event: unknown, context: DurableContext) =>
  context.step("one", async () => 1),
);

async function main() {
  await settle();
  const before = { threads: threads(), rssMb: rssMb() };
  const after: Array<{ threads: number; rssMb: number }> = [];
  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    await LocalDurableTestRunner.setupTestEnvironment({ skipTime: false });
    const result = await new LocalDurableTestRunner({ handlerFunction: oneStep }).run({ payload: {} });
    if (result.getResult() !== 1) throw new Error("unexpected result");
    await LocalDurableTestRunner.teardownTestEnvironment();
    await settle();
    after.push({ threads: threads(), rssMb: rssMb() });
  }
  // From the first cycle on (the first also loads the modules): what each further cycle adds.
  const first = after[0]!;
  const last = after.at(-1)!;
  const measured = {
    cycles: CYCLES,
    threadsBefore: before.threads,
    threadsAfter: after.map((a) => a.threads),
    threadsPerCycle: Number(((last.threads - first.threads) / (CYCLES - 1)).toFixed(2)),
    rssMbPerCycle: Number(((last.rssMb - first.rssMb) / (CYCLES - 1)).toFixed(1)),
    rssMbAfter: after.map((a) => Math.round(a.rssMb)),
  };
  console.log(
    `${CYCLES} setup/teardown cycles: threads ${before.threads} -> ${measured.threadsAfter.join(", ")}; ` +
      `RSS MB ${Math.round(before.rssMb)} -> ${measured.rssMbAfter.join(", ")}: ` +
      `+${measured.threadsPerCycle} thread and +${measured.rssMbPerCycle} MB per cycle`,
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
