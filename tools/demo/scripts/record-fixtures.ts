/**
 * Records the doctor's fixtures from real local runs of the patterns: each run goes through
 * LocalDurableTestRunner and its history (the same Event shape GetDurableExecutionHistory returns) is
 * written as `{ "Events": [...] }` to test/fixtures/history/<name>.json.
 *
 *   pnpm --filter @durable-cookbook/demo-runner record-fixtures
 *
 * A running execution's history is a prefix of its final history, so the "still running" fixtures (a
 * callback nobody answered yet, a long wait) are the recorded history cut where the execution stood.
 * The timestamps are real time from the runner's worker thread, not the demo's virtual clock.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Event } from "@aws-sdk/client-lambda";
import { createHandler as createStepsHandler } from "../../../patterns/steps/src/index";
import { simulatedWorld as stepsWorld } from "../../../patterns/steps/src/demo";
import { runLocally } from "../src/run-local";
import { loadScenario, type DemoScenario } from "../src/scenario";

interface Recipe {
  pattern: string;
  /** Changes to the pattern's demo scenario (another simulated world, no actors...). */
  adapt?: (scenario: DemoScenario) => DemoScenario;
  /** Where the execution stood: how many of the recorded events to keep. */
  cut?: (events: Event[]) => number;
}

const RECIPES: Record<string, Recipe> = {
  // Retries a transient fault, runs a child context, waits three days, succeeds.
  succeeded: { pattern: "steps" },
  // The inventory service is down for good: reserving stock fails after all its attempts.
  "failed-after-retries": {
    pattern: "steps",
    adapt: (scenario) => ({
      ...scenario,
      createHandler: () => createStepsHandler(stepsWorld({ always: { reserve: "unavailable" } }).deps),
    }),
  },
  // The first attempt failed and the step waits for its retry timer.
  "retrying-step": {
    pattern: "steps",
    adapt: (scenario) => ({
      ...scenario,
      createHandler: () => createStepsHandler(stepsWorld({ always: { reserve: "unavailable" } }).deps),
    }),
    cut: throughSuspensionAfter((event) => event.EventType === "StepFailed"),
  },
  // Stopped three days before the review request: the wait is pending.
  "waiting-on-timer": {
    pattern: "steps",
    cut: through((event) => event.EventType === "WaitStarted" && event.Name === "wait-before-review-request"),
  },
  // The support agent asked a person to approve a refund and nobody has answered yet.
  "waiting-on-callback": {
    pattern: "agent-loop",
    adapt: (scenario) => ({ ...scenario, actors: [] }),
    cut: throughSuspensionAfter((event) => event.EventType === "CallbackStarted"),
  },
  // A person approves the refund (the callback the cloud demo's actor answers).
  "approved-by-callback": { pattern: "agent-loop" },
  // Nobody answers the refund approval: the callback times out and the execution fails.
  "callback-timed-out": { pattern: "agent-loop", adapt: (scenario) => ({ ...scenario, actors: [] }) },
  // The manager's callback times out on its heartbeat, the request escalates, the director approves.
  "escalated-after-heartbeat-timeout": { pattern: "wait-callback" },
};

/** Keep the history up to and including the first event that matches. */
function through(match: (event: Event) => boolean) {
  return (events: Event[]) => {
    const index = events.findIndex(match);
    if (index < 0) throw new Error("the cut point never happened in this run");
    return index + 1;
  };
}

/** Keep the history up to the end of the invocation in which the matching event happened (it suspended). */
function throughSuspensionAfter(match: (event: Event) => boolean) {
  return (events: Event[]) => {
    const from = through(match)(events);
    const suspension = events.findIndex(
      (event, index) => index >= from && event.EventType === "InvocationCompleted",
    );
    return suspension < 0 ? from : suspension + 1;
  };
}

async function record(name: string, recipe: Recipe, outDir: string): Promise<void> {
  const loaded = await loadScenario(recipe.pattern);
  const scenario = recipe.adapt ? recipe.adapt(loaded) : loaded;
  const outcome = await runLocally(scenario, scenario.event, () => undefined);
  const events = recipe.cut ? outcome.history.slice(0, recipe.cut(outcome.history)) : outcome.history;
  const file = path.join(outDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ Events: events }, null, 2)}\n`);
  console.log(`${file}: ${events.length} events (${recipe.pattern}, run ${outcome.summary.status})`);
}

async function main(): Promise<void> {
  process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";
  const outDir = path.resolve(__dirname, "../test/fixtures/history");
  mkdirSync(outDir, { recursive: true });
  const only = process.argv.slice(2);
  for (const [name, recipe] of Object.entries(RECIPES)) {
    if (only.length === 0 || only.includes(name)) await record(name, recipe, outDir);
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
