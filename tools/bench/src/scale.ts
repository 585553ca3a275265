import { spawn } from "node:child_process";
import path from "node:path";
import type { DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { createChunkedHandler, DEFAULT_CHUNK_SIZE } from "../../../patterns/map-parallel/src/chunked";
import { PROVIDER_CONCURRENCY_LIMIT } from "../../../patterns/map-parallel/src/deps";
import { quickConfig, sampleBatch, simulatedWorld } from "../../../patterns/map-parallel/src/demo";
import {
  checkSettings,
  defaultConfig,
  enrichCustomer,
  quoteFxRate,
  sendInvoices,
  type WorkflowConfig,
} from "../../../patterns/map-parallel/src/workflow";
import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { bareChunkedHandler, barePerItemHandler } from "./bare";
import { countingCheckpoints, countTicks, inOneEnvironment } from "./environment";
import { checkpointedBytes, operationsWithin } from "./executions";
import { memoryObjects, stageByReference } from "./objects";
import { median, stopwatch } from "./stats";

/**
 * map-parallel at 10 to 10,000 invoices, per item versus chunked, the pattern beside a bare-SDK handler of the
 * same shape. One child process per timer mode (skipTime, real timers), each with one local-runner environment
 * for all its runs (a cycle per run would leak a checkpoint worker each: see environment.ts).
 */
export type Shape = "per-item" | "chunked";
export type Code = "pattern" | "bare";
export type TimerMode = "skipTime" | "real";

export interface ScaleMeasurement {
  mode: TimerMode;
  shape: Shape;
  code: Code;
  size: number;
  status: string;
  operations: number;
  /** The map and everything under it: what per item versus chunked changes. */
  mapOperations: number;
  bytesCheckpointed: number;
  checkpoints: number;
  invocations: number;
  wallMs: number;
  /** process.cpuUsage (user + system) over the run: the main thread and the checkpoint worker thread. */
  cpuMs: number;
  /** Under skipTime: fake-clock interval ticks (every 20 ms of real time) and those that fired a timer. */
  ticks?: number;
  firingTicks?: number;
  runs: number;
  skipped?: string;
}

export const SCALE_SIZES = [10, 100, 1000, 10_000];
export const MAP_NAMES: Record<Shape, string> = { "per-item": "send-invoices", chunked: "send-chunks" };

/**
 * The pattern's per-item run, from its own parts (enrichCustomer, checkSettings, sendInvoices, quoteFxRate): runBillingBatch
 * refuses more than 1,000 invoices (MAX_INVOICES_PER_BATCH), so the bench calls what it calls, without the cap.
 */
function patternPerItemHandler(): DurableLambdaHandler {
  const { deps } = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 1024 });
  const config: WorkflowConfig = {
    ...defaultConfig,
    ...quickConfig,
    maxConcurrency: PROVIDER_CONCURRENCY_LIMIT,
  };
  return withDurableExecution(async (event: ReturnType<typeof sampleBatch>, context) => {
    const customer = await enrichCustomer(context, deps, event);
    await checkSettings(context, deps, event.batchId);
    const run = { batch: event, customer, deps, config };
    const first = await sendInvoices(context, "send-invoices", "invoice", event.invoices, run);
    await quoteFxRate(context, deps, event);
    return { sent: first.successCount };
  });
}

/**
 * The handler and its event. The chunked run takes its batch by reference: its manifest (manifestOf) is staged
 * in an in-memory object store before the clock starts, and the event names it (`manifest: { key }`); the bare
 * chunked handler reads the same manifest from the same kind of store, so the two still differ only by code.
 */
function caseFor(
  shape: Shape,
  code: Code,
  size: number,
): { handler: DurableLambdaHandler; payload: unknown } {
  const batch = sampleBatch(size);
  if (shape === "per-item")
    return { handler: code === "bare" ? barePerItemHandler : patternPerItemHandler(), payload: batch };
  if (code === "bare") {
    const store = memoryObjects();
    const payload = stageByReference(store, batch);
    return { handler: bareChunkedHandler(DEFAULT_CHUNK_SIZE, store.objects), payload };
  }
  const world = simulatedWorld({ deliveryLatencyMs: 0, documentBytes: 1024 });
  // The chunk records the run stores in the world's documents are what check-message-ids reads back.
  const store = memoryObjects(world.documents);
  const payload = stageByReference(store, batch);
  const handler = createChunkedHandler(
    { ...world.deps, objects: store.objects },
    { chunkSize: DEFAULT_CHUNK_SIZE, attemptBackoffMs: 0 },
  );
  return { handler, payload };
}

async function measureOnce(
  mode: TimerMode,
  shape: Shape,
  code: Code,
  size: number,
  ticks?: () => { ticks: number; firingTicks: number },
) {
  const { handler, payload } = caseFor(shape, code, size);
  const counted = countingCheckpoints(handler);
  const runner = new LocalDurableTestRunner({ handlerFunction: counted.handler });
  // The garbage of the run before (a 10,000-item history) must not be collected on this one's clock.
  (globalThis as { gc?: () => void }).gc?.();
  const ticksBefore = ticks?.();
  const cpuBefore = process.cpuUsage();
  const elapsed = stopwatch();
  const result = await runner.run({ payload });
  const wallMs = elapsed();
  const cpu = process.cpuUsage(cpuBefore);
  const ticksAfter = ticks?.();
  const history = result.getHistoryEvents();
  const measured: Omit<ScaleMeasurement, "runs"> = {
    mode,
    shape,
    code,
    size,
    status: result.getStatus() ?? "UNKNOWN",
    operations: result.getOperations().length,
    mapOperations: operationsWithin(history, MAP_NAMES[shape]),
    bytesCheckpointed: checkpointedBytes(history),
    checkpoints: counted.checkpoints(),
    invocations: result.getInvocations().length,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(ticksBefore && ticksAfter
      ? {
          ticks: ticksAfter.ticks - ticksBefore.ticks,
          firingTicks: ticksAfter.firingTicks - ticksBefore.firingTicks,
        }
      : {}),
  };
  return measured;
}

export interface ScaleOptions {
  mode: TimerMode;
  sizes: number[];
  runs: number;
  /** Skip a per-item run whose projection from the smaller sizes exceeds this (ms). */
  maxProjectedMs: number;
}

/** Runs in the child process: every case at every size, pattern and bare interleaved, in one environment. */
export async function measureScaleHere(options: ScaleOptions, progress: (line: string) => void) {
  return inOneEnvironment(options.mode === "skipTime", async () => {
    const ticks = countTicks();
    // One run of each handler first, not measured: module compilation and JIT warm-up would land on the first.
    for (const shape of ["per-item", "chunked"] as Shape[]) {
      for (const code of ["pattern", "bare"] as Code[])
        await measureOnce(options.mode, shape, code, 10, ticks);
    }
    const results: ScaleMeasurement[] = [];
    for (const shape of ["per-item", "chunked"] as Shape[]) {
      for (const size of options.sizes) {
        const previous = (code: Code) =>
          results
            .filter((r) => r.shape === shape && r.code === code && !r.skipped && r.size < size)
            .slice(-2);
        for (const code of ["pattern", "bare"] as Code[]) {
          const [smaller, larger] = previous(code);
          // Growth so far, applied once more: a run that would take longer than the budget is skipped, and says so.
          const projected =
            smaller && larger
              ? larger.wallMs * Math.max(larger.wallMs / smaller.wallMs, size / larger.size)
              : 0;
          if (projected > options.maxProjectedMs) {
            const skipped = `skipped: projected ${Math.round(projected / 1000)} s (from ${larger!.size} items) is over the ${options.maxProjectedMs / 1000} s allowed`;
            progress(`${options.mode} ${shape} ${code} ${size}: ${skipped}`);
            results.push({ ...emptyMeasurement(options.mode, shape, code, size), skipped });
            continue;
          }
          const runs = size >= 1000 ? 1 : options.runs;
          const measured: Omit<ScaleMeasurement, "runs">[] = [];
          for (let run = 0; run < runs; run += 1)
            measured.push(await measureOnce(options.mode, shape, code, size, ticks));
          const first = measured[0]!;
          const row: ScaleMeasurement = {
            ...first,
            wallMs: median(measured.map((m) => m.wallMs)),
            cpuMs: median(measured.map((m) => m.cpuMs)),
            ...(first.ticks !== undefined
              ? {
                  ticks: median(measured.map((m) => m.ticks ?? 0)),
                  firingTicks: median(measured.map((m) => m.firingTicks ?? 0)),
                }
              : {}),
            runs,
          };
          results.push(row);
          progress(
            `${options.mode} ${shape} ${code} ${size}: ${row.status} ${row.operations} ops, ${Math.round(row.wallMs)} ms wall, ${Math.round(row.cpuMs)} ms CPU` +
              (row.ticks !== undefined ? `, ${row.ticks} ticks (${row.firingTicks} firing)` : ""),
          );
        }
      }
    }
    return results;
  });
}

function emptyMeasurement(mode: TimerMode, shape: Shape, code: Code, size: number): ScaleMeasurement {
  return {
    mode,
    shape,
    code,
    size,
    status: "SKIPPED",
    operations: 0,
    mapOperations: 0,
    bytesCheckpointed: 0,
    checkpoints: 0,
    invocations: 0,
    wallMs: 0,
    cpuMs: 0,
    runs: 0,
  };
}

/** In the parent: runs one timer mode in a fresh process (tsx), streaming its progress to stderr. */
export function measureScale(options: ScaleOptions): Promise<ScaleMeasurement[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--expose-gc", "--import", "tsx", __filename, JSON.stringify(options)],
      {
        cwd: path.join(__dirname, ".."),
        env: { ...process.env, AWS_LAMBDA_LOG_LEVEL: "WARN" },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = output.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !last.startsWith("[")) {
        reject(new Error(`the ${options.mode} scale bench failed (exit ${code}):\n${output.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(last) as ScaleMeasurement[]);
    });
  });
}

if (require.main === module) {
  process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
  const options = JSON.parse(process.argv[2] ?? "{}") as ScaleOptions;
  measureScaleHere(options, (line) => console.error(`  ${line}`)).then(
    (results) => {
      console.log(JSON.stringify(results));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
