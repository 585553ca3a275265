/**
 * Repro: with real timers a map's cost per item grows with the number of operations already in the execution,
 * because every checkpoint rescans every operation, in the SDK and in the local runner.
 *
 *   pnpm --filter @durable-cookbook/bench exec tsx repro/checkpoint-scans.ts [1000,3000,9000]
 *
 * A NESTED map of N items, one step each, real timers. For each N it prints the wall time per item (constant if
 * linear); at the largest N it profiles the main thread (node:inspector) and prints the time spent inside the
 * functions that walk every operation on each checkpoint:
 * - SDK 2.4.0, dist-cjs/index.js, `CheckpointManager.updateStepDataFromCheckpointResponse`: after every
 *   checkpoint, builds `Object.keys(this.stepData)` for a debug log line that is discarded at the default level,
 *   and `toOperationInfoMap(this.stepData)` (every operation) for the plugins' `onOperationChange` hook;
 * - SDK, `CheckpointManager.shouldTerminate`: `Array.from(this.operations.values())` and scans of it, on every
 *   state change;
 * - testing 1.1.4, dist-cjs/index.js, `LocalOperationStorage.populateOperations`: on every poll that brings
 *   operations, copies the whole history again ("TODO: don't iterate through all history events on each
 *   operation update") and repopulates every tracked operation.
 * The SDK's two run in Lambda too: a 10,000-item execution pays them in production.
 */
import { Session } from "node:inspector/promises";
import {
  DurableExecutionInvocationInputWithClient,
  NestingType,
  withDurableExecution,
  type DurableContext,
  type DurableExecutionClient,
  type DurableLambdaHandler,
} from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";

process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
const realNow = performance.now.bind(performance);
const sizes = (process.argv.find((arg) => /^\d+(,\d+)*$/.test(arg)) ?? "1000,3000,9000")
  .split(",")
  .map(Number);
const SCANS = ["updateStepDataFromCheckpointResponse", "shouldTerminate", "populateOperations"];

const flatMap = withDurableExecution(async (event: { items: number }, context: DurableContext) => {
  const items = Array.from({ length: event.items }, (_, i) => i);
  const result = await context.map("items", items, (item, n) => item.step(`item-${n}`, async () => n), {
    maxConcurrency: 5,
    nesting: NestingType.NESTED,
  });
  return result.successCount;
});

/** Counts checkpoint calls, and the operations the service sends back with them. */
function counting(handler: DurableLambdaHandler) {
  const counts = { checkpoints: 0, operationsReturned: 0 };
  const wrapped: DurableLambdaHandler = (input, lambdaContext) => {
    const server = (input as DurableExecutionInvocationInputWithClient).durableExecutionClient;
    const client: DurableExecutionClient = {
      getExecutionState: (request, logger) => server.getExecutionState(request, logger),
      checkpoint: async (request, logger) => {
        const response = await server.checkpoint(request, logger);
        counts.checkpoints += 1;
        counts.operationsReturned += response.NewExecutionState?.Operations?.length ?? 0;
        return response;
      },
    };
    return handler(new DurableExecutionInvocationInputWithClient(input, client), lambdaContext);
  };
  return { handler: wrapped, counts };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string };
  hitCount?: number;
  children?: number[];
}

/** Milliseconds inside each named function (its whole subtree, a recursive call counted once). */
function inclusiveMs(profile: { nodes: ProfileNode[]; startTime: number; endTime: number }, names: string[]) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const totalHits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const msPerHit = (profile.endTime - profile.startTime) / 1000 / Math.max(totalHits, 1);
  const hits = Object.fromEntries(names.map((name) => [name, 0]));
  const walk = (id: number, inside: Set<string>) => {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    const now = names.includes(name) && !inside.has(name) ? new Set([...inside, name]) : inside;
    for (const active of now) hits[active]! += node.hitCount ?? 0;
    for (const child of node.children ?? []) walk(child, now);
  };
  walk(profile.nodes[0]!.id, new Set());
  return {
    totalMs: Math.round(totalHits * msPerHit),
    byFunction: Object.fromEntries(names.map((name) => [name, Math.round(hits[name]! * msPerHit)])),
  };
}

async function main() {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: false });
  const rows: Array<{
    items: number;
    wallMs: number;
    msPerItem: number;
    checkpoints: number;
    operationsReturned: number;
  }> = [];
  let profiled: ReturnType<typeof inclusiveMs> | undefined;
  try {
    await new LocalDurableTestRunner({ handlerFunction: flatMap }).run({ payload: { items: 1000 } }); // warm-up
    for (const [index, items] of sizes.entries()) {
      const last = index === sizes.length - 1;
      const session = new Session();
      if (last) {
        session.connect();
        await session.post("Profiler.enable");
        await session.post("Profiler.start");
      }
      const counted = counting(flatMap);
      const started = realNow();
      const result = await new LocalDurableTestRunner({ handlerFunction: counted.handler }).run({
        payload: { items },
      });
      const wallMs = realNow() - started;
      if (last) {
        const { profile } = await session.post("Profiler.stop");
        profiled = inclusiveMs(profile, SCANS);
        session.disconnect();
      }
      if (result.getResult() !== items) throw new Error(`unexpected result ${String(result.getResult())}`);
      rows.push({
        items,
        wallMs: Math.round(wallMs),
        msPerItem: Number((wallMs / items).toFixed(3)),
        ...counted.counts,
      });
      console.log(
        `${items} items: ${Math.round(wallMs)} ms, ${(wallMs / items).toFixed(3)} ms per item, ${counted.counts.checkpoints} ` +
          `checkpoint calls returning ${counted.counts.operationsReturned} operations`,
      );
    }
  } finally {
    await LocalDurableTestRunner.teardownTestEnvironment();
  }
  const first = rows[0]!;
  const last = rows.at(-1)!;
  const measured = {
    rows,
    perItemGrowth: Number((last.msPerItem / first.msPerItem).toFixed(2)),
    itemsGrowth: last.items / first.items,
    profile: profiled,
  };
  console.log(
    `per-item cost grew ${measured.perItemGrowth}x for ${measured.itemsGrowth}x the items (1.0 would be linear). ` +
      `At ${last.items} items the main thread spent ${profiled?.totalMs} ms sampled, of it: ` +
      SCANS.map((name) => `${name} ${profiled?.byFunction[name]} ms`).join(", "),
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
