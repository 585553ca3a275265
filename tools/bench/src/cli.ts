import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { NestingType } from "@aws/durable-execution-sdk-js";
import { runLocally } from "@durable-cookbook/demo-runner/src/run-local";
import { listPatterns, repoRoot } from "@durable-cookbook/demo-runner/src/scenario";
import type { TimelineEvent } from "@durable-cookbook/demo-runner/src/timeline";
import { deployedHandlers, measureBundles } from "./bundles";
import { BUDGETS, type BudgetCheck } from "./budgets";
import { executionCases, MAP_OPERATION, MAP_SIZES, mapScalingCase } from "./cases";
import { timeCommand } from "./commands";
import { inOneEnvironment } from "./environment";
import { REPROS, runRepro } from "./repros";
import { measureScale, SCALE_SIZES, type ScaleMeasurement } from "./scale";
import { scaleTables } from "./scale-report";
import { measureExecution, operationsWithin, type ExecutionMeasurement } from "./executions";
import { kb, ms, table } from "./markdown";
import { DURABLE_PRICING } from "./pricing";
import { median } from "./stats";

// The timeline and the numbers are the output; the patterns' own JSON log lines would bury them.
process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick"); // fewer repetitions and no test-suite timing, for a fast look
// The suite timing runs every package's tests (turbo --force): leave it out on a machine shared with work in
// progress, where it would time (or fail on) someone else's half-done change.
const skipTestSuite = quick || args.has("--skip-test-suite");
const RUNS = quick ? 1 : 3;

async function main(): Promise<number> {
  const started = Date.now();
  const report: string[] = [];
  const json: Record<string, unknown> = {};
  const budgets: BudgetCheck[] = [];
  const print = (text: string) => {
    console.log(text);
    report.push(text);
  };

  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "cpu"}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  json.machine = machine;
  json.date = new Date().toISOString();
  print(
    `# Benchmarks\n\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine}, by \`pnpm bench${quick ? " --quick" : ""}${skipTestSuite && !quick ? " --skip-test-suite" : ""}\`.\n`,
  );

  // Sections 1 to 3 run in one local-runner environment (one checkpoint worker, one fake clock): runLocally's own
  // setup and teardown are no-ops inside it (environment.ts). A cycle per run leaked a worker thread each.
  await inOneEnvironment(true, async () => {
    // 1. What one execution of each pattern costs.
    const executions: ExecutionMeasurement[] = [];
    for (const benchCase of executionCases) {
      const { history: _history, ...measured } = await measureExecution(
        `${benchCase.pattern}: ${benchCase.name}`,
        benchCase.scenario(),
        RUNS,
      );
      executions.push(measured);
    }
    json.executions = executions;
    print("## One execution of each pattern (local runner, time skipped)\n");
    print(
      table(
        [
          "case",
          "status",
          "operations",
          "invocations",
          "retries and polls",
          "bytes checkpointed",
          "est. USD per 1M executions",
          "wall (median)",
        ],
        executions.map((e) => [
          e.case,
          e.status,
          e.operations,
          e.invocations,
          e.retries,
          e.bytesCheckpointed,
          Number(e.costPerMillionUsd.toFixed(2)),
          ms(e.wallMsMedian),
        ]),
      ),
    );
    print(
      `\nEstimated cost = operations × $${DURABLE_PRICING.perMillionOperationsUsd}/million + data written × $${DURABLE_PRICING.perGbWrittenUsd}/GB ` +
        `(${DURABLE_PRICING.region}; source: ${DURABLE_PRICING.source}). Data retained ($${DURABLE_PRICING.perGbMonthRetainedUsd}/GB-month) ` +
        "and the ordinary Lambda request and duration charges come on top and depend on your configuration.\n",
    );

    // 2. The agent: what checkpointing each model turn saves when the function is re-invoked.
    const agent = await agentTurnsReplayedVersusRecomputed();
    json.agent = agent;
    print("## An agent turn replayed versus recomputed\n");
    print(
      table(
        ["", "model calls", "invocations"],
        [
          [
            "durable (each turn a step: replay reads the checkpoint)",
            agent.durableModelCalls,
            agent.invocations,
          ],
          [
            "without checkpoints (every invocation recomputes earlier turns)",
            agent.recomputedModelCalls,
            agent.invocations,
          ],
        ],
      ),
    );
    print("");

    // 3. map-parallel at 10, 100 and 1,000 items, NESTED versus FLAT.
    const scaling: {
      size: number;
      nesting: string;
      operations: number;
      mapOperations: number;
      bytes: number;
      wallMs: number;
    }[] = [];
    for (const size of MAP_SIZES) {
      for (const nesting of [NestingType.NESTED, NestingType.FLAT]) {
        const measured = await measureExecution(
          `${size} ${nesting}`,
          mapScalingCase(size, nesting),
          size >= 1000 ? 1 : RUNS,
        );
        scaling.push({
          size,
          nesting,
          operations: measured.operations,
          mapOperations: operationsWithin(measured.history, MAP_OPERATION),
          bytes: measured.bytesCheckpointed,
          wallMs: measured.wallMsMedian,
        });
      }
    }
    json.mapScaling = scaling;
    const row = (size: number, nesting: string) =>
      scaling.find((s) => s.size === size && s.nesting === nesting)!;
    print("## map-parallel: batch size and nesting\n");
    print(
      table(
        [
          "invoices",
          "NESTED operations (map)",
          "FLAT operations (map)",
          "FLAT saves (map)",
          "NESTED bytes",
          "FLAT bytes",
          "NESTED wall",
          "FLAT wall",
        ],
        MAP_SIZES.map((size) => {
          const nested = row(size, NestingType.NESTED);
          const flat = row(size, NestingType.FLAT);
          return [
            size,
            `${nested.operations} (${nested.mapOperations})`,
            `${flat.operations} (${flat.mapOperations})`,
            `${Math.round((1 - flat.mapOperations / nested.mapOperations) * 100)}%`,
            nested.bytes,
            flat.bytes,
            ms(nested.wallMs),
            ms(flat.wallMs),
          ];
        }),
      ),
    );
    const growth = (metric: "operations" | "wallMs", nesting: string) =>
      MAP_SIZES.slice(1).map((size, i) =>
        (row(size, nesting)[metric] / row(MAP_SIZES[i]!, nesting)[metric]).toFixed(1),
      );
    print(
      `\nGrowth for each 10× more invoices: operations ${growth("operations", NestingType.NESTED).join(", ")} (NESTED), ${growth("operations", NestingType.FLAT).join(", ")} (FLAT); ` +
        `wall time ${growth("wallMs", NestingType.NESTED).join(", ")} (NESTED), ${growth("wallMs", NestingType.FLAT).join(", ")} (FLAT). ` +
        "A factor near 10 is linear; the fixed part of a run (enrichment, credit check, about 100 ms of runner start-up) makes the first step smaller.\n",
    );
    const biggest = Math.max(...MAP_SIZES);
    budgets.push({
      budget: `${biggest} map items in the local runner under ${BUDGETS.map1000ItemsMs / 1000} s`,
      measured: `NESTED ${ms(row(biggest, NestingType.NESTED).wallMs)}, FLAT ${ms(row(biggest, NestingType.FLAT).wallMs)}`,
      met:
        Math.max(row(biggest, NestingType.NESTED).wallMs, row(biggest, NestingType.FLAT).wallMs) <
        BUDGETS.map1000ItemsMs,
    });
    // The same batch: the operations of the map itself, without the enrichment and credit check around it.
    const reductions = MAP_SIZES.map(
      (size) => 1 - row(size, NestingType.FLAT).mapOperations / row(size, NestingType.NESTED).mapOperations,
    );
    budgets.push({
      budget: `FLAT at least ${BUDGETS.flatOperationsReduction * 100}% fewer operations than NESTED for the same batch (the map's operations)`,
      measured: reductions.map((r, i) => `${MAP_SIZES[i]}: ${Math.round(r * 100)}%`).join(", "),
      met: reductions.every((r) => r >= BUDGETS.flatOperationsReduction),
    });
  });

  // 3b. map-parallel at scale: per item versus chunked, the pattern beside a bare-SDK handler of the same shape,
  // under skipTime and with real timers, each mode in its own process with its own one environment.
  const scaleRuns: ScaleMeasurement[] = [];
  for (const mode of ["skipTime", "real"] as const) {
    // --quick: to 100 invoices in both modes (the fast look); the full bench goes to 10,000.
    const sizes = quick ? SCALE_SIZES.filter((size) => size <= 100) : SCALE_SIZES;
    console.error(
      `map-parallel at scale, ${mode === "real" ? "real timers" : "skipTime"}: ${sizes.join(", ")} invoices`,
    );
    scaleRuns.push(
      ...(await measureScale({
        mode,
        sizes,
        runs: RUNS,
        maxProjectedMs: quick ? 20_000 : BUDGETS.scaleRunProjectedMs,
      })),
    );
  }
  json.mapScale = scaleRuns;
  const scale = scaleTables(scaleRuns, quick);
  print("## map-parallel at scale: per item versus chunked\n");
  print(scale.markdown);
  budgets.push(scale.budget);

  // 3c. What is inherent to SDK 2.4.0 and testing 1.1.4: each limit's standalone reproduction, run as a
  // maintainer would run it, with what it measured here.
  print("## What is inherent to SDK 2.4.0 and testing 1.1.4\n");
  print(
    "Limits of the packages, not of the cookbook's code (the pattern/bare ratios above), each with a minimal " +
      "reproduction a maintainer can run: `pnpm --filter @durable-cookbook/bench exec tsx repro/<file>.ts`.\n",
  );
  const repros = quick ? [] : REPROS.map((repro) => ({ repro, outcome: runRepro(repro) }));
  json.repros = repros.map(({ outcome }) => outcome);
  for (const [index, repro] of REPROS.entries()) {
    const outcome = repros[index]?.outcome;
    print(`### ${index + 1}. ${repro.limit}\n`);
    print(`- Measured: ${outcome ? outcome.line : "not run by `--quick` (run the reproduction below)"}.`);
    print(`- Where: ${repro.where}.`);
    print(`- What a user can do: ${repro.whatToDo}`);
    print(`- Reproduce: \`pnpm --filter @durable-cookbook/bench exec tsx repro/${repro.file}\`\n`);
  }

  // 4. Handler bundles, as infra deploys them, and their module load time.
  const bundles = await measureBundles(deployedHandlers(repoRoot), quick ? 3 : 5);
  json.bundles = bundles;
  print("## Handler bundles (esbuild, minified, CommonJS, node24) and module load time\n");
  print(
    "Every handler the infra stack deploys. The stack bundles the AWS SDK (the durable SDK needs a newer `@aws-sdk/client-lambda` than the runtime may provide); the budget is set on the bundle without it, the code we control.\n",
  );
  print(
    table(
      [
        "handler",
        "bundle without AWS SDK",
        "bundle with AWS SDK",
        "load without SDK (median)",
        "load with SDK (median)",
      ],
      bundles.map((b) => [
        `${b.pattern}.${b.exportName}`,
        kb(b.bytesWithoutAwsSdk),
        kb(b.bytesWithAwsSdk),
        ms(b.loadMsWithoutAwsSdk),
        ms(b.loadMsWithAwsSdk),
      ]),
    ),
  );
  print(
    "\nLoad time is `require()` of the bundle in a fresh Node process: the part of a cold start the code controls.\n",
  );
  for (const b of bundles) {
    budgets.push({
      budget: `${b.pattern}.${b.exportName} bundle under ${BUDGETS.bundleBytesWithoutAwsSdk / 1024} KB without the AWS SDK`,
      measured: kb(b.bytesWithoutAwsSdk),
      met: b.bytesWithoutAwsSdk < BUDGETS.bundleBytesWithoutAwsSdk,
    });
  }

  // 5. How fast the cookbook is to use: every demo, and the whole test suite cold and cached.
  const demos = listPatterns().map((pattern) => {
    // A demo may end in a failed execution on purpose (saga shows a declined card): exit 1 is a finished demo.
    const times = Array.from(
      { length: RUNS },
      () => timeCommand(`pnpm -s demo ${pattern}`, repoRoot, [0, 1]).ms,
    );
    return { pattern, wallMs: median(times) };
  });
  json.demos = demos;
  print("## Using the cookbook\n");
  const usage: (string | number)[][] = demos.map((d) => [`pnpm demo ${d.pattern}`, ms(d.wallMs)]);
  for (const d of demos) {
    budgets.push({
      budget: `pnpm demo ${d.pattern} under ${BUDGETS.demoMs / 1000} s`,
      measured: ms(d.wallMs),
      met: d.wallMs < BUDGETS.demoMs,
    });
  }
  if (skipTestSuite && !quick) {
    usage.push(["pnpm test, cold and cached", "not measured in this run (`--skip-test-suite`)"]);
  }
  if (!skipTestSuite) {
    const cold = timeCommand("pnpm exec turbo run test --force", repoRoot).ms;
    const cached = timeCommand("pnpm test", repoRoot).ms;
    json.tests = { coldMs: cold, cachedMs: cached };
    usage.push(["pnpm test, cold (turbo --force)", ms(cold)], ["pnpm test, cached", ms(cached)]);
  }
  print(table(["command", "wall time (median)"], usage));
  print("");

  json.budgets = budgets;
  print("## Budgets\n");
  print(
    table(
      ["budget", "measured", ""],
      budgets.map((b) => [b.budget, b.measured, b.met ? "met" : "**MISSED**"]),
    ),
  );
  print(`\nThe whole bench took ${ms(Date.now() - started)}.`);

  writeFileSync(path.join(repoRoot, "BENCHMARKS.md"), `${report.join("\n")}\n`);
  writeFileSync(path.join(repoRoot, "tools", "bench", "results.json"), `${JSON.stringify(json, null, 2)}\n`);
  const missed = budgets.filter((b) => !b.met);
  if (missed.length > 0) {
    console.error(`\nBudgets missed:\n${missed.map((b) => `- ${b.budget}: ${b.measured}`).join("\n")}`);
    return 1;
  }
  return 0;
}

/**
 * The agent's model calls with durable turns, against what an agent without checkpoints would pay: on each
 * re-invocation (after the approval suspends it) it would call the model again for every earlier turn.
 */
async function agentTurnsReplayedVersusRecomputed() {
  const agentCase = executionCases.find((c) => c.pattern === "agent-loop")!;
  const events: TimelineEvent[] = [];
  const outcome = await runLocally(agentCase.scenario(), agentCase.scenario().event, (event) =>
    events.push(event),
  );
  let turnsSoFar = 0;
  let recomputed = 0;
  for (const event of events) {
    if (event.kind === "invocation-start" && event.invocation > 1) recomputed += turnsSoFar;
    if (
      event.kind === "operation" &&
      event.change === "succeeded" &&
      /^model-turn-/.test(event.operation.name ?? "")
    ) {
      turnsSoFar += 1;
    }
  }
  return {
    durableModelCalls: turnsSoFar,
    recomputedModelCalls: turnsSoFar + recomputed,
    invocations: outcome.summary.invocations,
  };
}

void main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
