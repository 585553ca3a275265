import type { BudgetCheck } from "./budgets";
import { BUDGETS } from "./budgets";
import { ms, table } from "./markdown";
import { costPerMillionExecutions, DURABLE_PRICING } from "./pricing";
import type { Code, ScaleMeasurement, Shape, TimerMode } from "./scale";

/** Estimated durable charges (operations and data written) per 1,000 invoices, for one execution of `size`. */
export function usdPerThousandItems(operations: number, bytes: number, size: number): number {
  return (costPerMillionExecutions(operations, bytes) / 1_000_000) * (1000 / size);
}

/** value(10n) / value(n) for consecutive sizes, "—" where either is missing. */
export function growthPer10x(values: Array<number | undefined>): string[] {
  return values.slice(1).map((value, i) => {
    const before = values[i];
    return value && before ? (value / before).toFixed(1) : "—";
  });
}

/** pattern / bare, two decimals, "—" where either is missing. */
export function ratio(pattern: number | undefined, bare: number | undefined): string {
  return pattern && bare ? (pattern / bare).toFixed(2) : "—";
}

const SHAPES: Shape[] = ["per-item", "chunked"];

export function scaleTables(
  runs: ScaleMeasurement[],
  quick: boolean,
): { markdown: string; budget: BudgetCheck } {
  const find = (mode: TimerMode, shape: Shape, code: Code, size: number) =>
    runs.find(
      (r) => r.mode === mode && r.shape === shape && r.code === code && r.size === size && !r.skipped,
    );
  const sizes = [...new Set(runs.map((r) => r.size))].sort((a, b) => a - b);
  // Operations and bytes do not depend on the timers: from whichever mode ran that size.
  const counted = (shape: Shape, size: number) =>
    find("real", shape, "pattern", size) ?? find("skipTime", shape, "pattern", size);
  const out: string[] = [];

  out.push(
    "The pattern's per-item map (its own `enrichCustomer`, `checkSettings`, `sendInvoices` and `quoteFxRate`: `runBillingBatch` " +
      "refuses more than 1,000 invoices) against its chunked recipe (`src/chunked.ts`, chunks of 100), every " +
      "invoice sent, fakes with no latency. The chunked runs take the batch by reference: its manifest (`manifestOf`) " +
      "is staged in an in-memory object store before the clock starts, the event names it, and each chunk reads its " +
      "lines with one range read (tools/bench/src/objects.ts). Operations per invoice count the whole execution (enrichment and FX " +
      "quote included) divided by the invoices; bytes are the payloads the history records (inputs, results, errors).\n",
  );
  out.push(
    table(
      [
        "invoices",
        "shape",
        "operations (map)",
        "operations per invoice",
        "bytes checkpointed per invoice",
        "checkpoint calls",
        "est. USD per 1,000 invoices",
      ],
      sizes.flatMap((size) =>
        SHAPES.flatMap((shape) => {
          const m = counted(shape, size);
          if (!m) return [[size, shape, "skipped", "—", "—", "—", "—"]];
          return [
            [
              size,
              shape,
              `${m.operations} (${m.mapOperations})`,
              Number((m.operations / size).toFixed(3)),
              Math.round(m.bytesCheckpointed / size),
              m.checkpoints,
              Number(usdPerThousandItems(m.operations, m.bytesCheckpointed, size).toFixed(4)),
            ],
          ];
        }),
      ),
    ),
  );
  out.push(
    `\nCost = operations × $${DURABLE_PRICING.perMillionOperationsUsd}/million + data written × $${DURABLE_PRICING.perGbWrittenUsd}/GB ` +
      "(the pricing above), per 1,000 invoices; Lambda compute comes on top (a chunk's step runs as long as its sends).\n",
  );

  const wallCell = (mode: TimerMode, shape: Shape, code: Code, size: number) => {
    const m = find(mode, shape, code, size);
    if (m) return ms(m.wallMs);
    const skipped = runs.find(
      (r) => r.mode === mode && r.shape === shape && r.code === code && r.size === size,
    );
    return skipped?.skipped ? "skipped" : "—";
  };
  out.push(
    "Time, pattern and bare SDK side by side in the same process. Under skipTime the local runner's fake clock " +
      "advances 20 ms every 20 ms of real time, and a timer (each checkpoint round trip waits on one) fires only on " +
      "such a tick: ticks are counted by wrapping the fake clock's `tick` (tools/bench/src/environment.ts), " +
      "firing ticks are those with a timer due. CPU is `process.cpuUsage()` over the run (main thread and the " +
      "checkpoint worker). The bare handler is plain `context.parallel`, `context.map` and `context.step` of the " +
      "same shape (tools/bench/src/bare.ts); pattern/bare is the ratio of wall times, and of CPU times with real " +
      "timers (steadier than wall on a shared machine). The bare chunked handler reads the same manifest (a " +
      "header step, one range read a chunk) and its step only returns a summary, where the pattern's checks the " +
      "header and every line, renders, hashes and stores each invoice's document and the chunk's record, and reads " +
      "the records back in check-message-ids: that work is in its CPU.\n",
  );
  out.push(
    table(
      [
        "invoices",
        "shape",
        "skipTime wall",
        "ticks (firing)",
        "ticks × 20 ms / wall",
        "skipTime CPU",
        "real-timer wall",
        "real-timer CPU",
        "bare: skipTime / real wall",
        "pattern/bare skipTime",
        "pattern/bare real",
        "pattern/bare CPU, real",
      ],
      sizes.flatMap((size) =>
        SHAPES.map((shape) => {
          const skip = find("skipTime", shape, "pattern", size);
          const real = find("real", shape, "pattern", size);
          return [
            size,
            shape,
            wallCell("skipTime", shape, "pattern", size),
            skip?.ticks !== undefined ? `${skip.ticks} (${skip.firingTicks})` : "—",
            skip?.ticks !== undefined ? `${Math.round(((skip.ticks * 20) / skip.wallMs) * 100)}%` : "—",
            skip ? ms(skip.cpuMs) : "—",
            wallCell("real", shape, "pattern", size),
            real ? ms(real.cpuMs) : "—",
            `${wallCell("skipTime", shape, "bare", size)} / ${wallCell("real", shape, "bare", size)}`,
            ratio(skip?.wallMs, find("skipTime", shape, "bare", size)?.wallMs),
            ratio(real?.wallMs, find("real", shape, "bare", size)?.wallMs),
            ratio(real?.cpuMs, find("real", shape, "bare", size)?.cpuMs),
          ];
        }),
      ),
    ),
  );
  const growthLine = (shape: Shape) => {
    const values = (mode: TimerMode, metric: "wallMs" | "operations") =>
      sizes.map((size) => find(mode, shape, "pattern", size)?.[metric]);
    return (
      `${shape}: operations ${growthPer10x(sizes.map((size) => counted(shape, size)?.operations)).join(", ")}; ` +
      `skipTime wall ${growthPer10x(values("skipTime", "wallMs")).join(", ")}; ` +
      `real-timer wall ${growthPer10x(values("real", "wallMs")).join(", ")}`
    );
  };
  out.push(
    `\nGrowth for each 10× more invoices (${sizes.join(" → ")}): ${SHAPES.map(growthLine).join(". ")}. ` +
      "A factor of 10 is linear; more is super-linear (the per-checkpoint scans of every operation, BENCHMARKS.md below); " +
      "the chunked map's fixed part (enrichment, FX quote, the runner's 100 ms tail) dominates below 1,000." +
      (quick ? " `--quick` measures to 100 invoices only." : "") +
      "\n",
  );
  const skipped = runs.filter((r) => r.skipped);
  if (skipped.length > 0) {
    out.push(
      `Skipped: ${skipped.map((r) => `${r.shape} ${r.code} ${r.size} (${r.mode}): ${r.skipped}`).join("; ")}.\n`,
    );
  }

  // The budget: the chunked map's operations per invoice at most a tenth of the per-item map's, at the largest
  // size both ran.
  const both = sizes.filter((size) => counted("per-item", size) && counted("chunked", size));
  const largest = both.at(-1);
  const perInvoice = (shape: Shape) => (largest ? counted(shape, largest)!.mapOperations / largest : NaN);
  const share = perInvoice("chunked") / perInvoice("per-item");
  return {
    markdown: out.join("\n"),
    budget: {
      budget: `chunked map at most ${BUDGETS.chunkedOperationsShare * 100}% of the per-item map's operations per invoice (the map's operations, largest batch measured)`,
      measured: largest
        ? `${largest} invoices: ${perInvoice("chunked").toFixed(3)} vs ${perInvoice("per-item").toFixed(3)} per invoice (${(share * 100).toFixed(1)}%)`
        : "not measured",
      met: largest !== undefined && share <= BUDGETS.chunkedOperationsShare,
    },
  };
}
