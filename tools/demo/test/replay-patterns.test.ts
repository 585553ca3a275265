/**
 * The replay check on every pattern's current code. Histories are recorded at test time, from the pattern's
 * own demo through the local runner (as scripts/record-fixtures.ts records the doctor's fixtures), so the
 * tests follow the patterns as they change: no operation name is written down here. The incompatible cases
 * change the code without touching the pattern's files, by handing its workflow a context that renames,
 * swaps or adds operations.
 */
import path from "node:path";
import type { Event } from "@aws-sdk/client-lambda";
import { NestingType, type DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import { checkReplay, type ReplayReport, type ReplayTarget } from "../src/replay/check";
import { rebuildOperations } from "../src/replay/operations";
import { loadReplayTarget } from "../src/replay/target";
import type { LocalRunOutcome } from "../src/run-local";
import { loadScenario, repoRoot } from "../src/scenario";
import { changeCode, inFlightPrefixes, record, rootOperations } from "./helpers/replay";

const PATTERNS = ["steps", "wait-callback", "map-parallel", "saga", "agent-loop", "entry-points"];

// The saga's default configuration names its payment function from the environment, as deployed.
process.env.PAYMENT_FUNCTION_ARN ??= "replay-check-payment";

interface Recorded {
  outcome: LocalRunOutcome;
  target: ReplayTarget;
  /** The simulated world whose deps the check guards: its own records must stay empty. */
  world: Record<string, unknown>;
}

/** Records the pattern's demo and loads its current handler for the check. */
async function recordPattern(pattern: string): Promise<Recorded> {
  const scenario = await loadScenario(pattern);
  const outcome = await record(scenario);
  const demo = (await import(path.join(repoRoot, "patterns", pattern, "src", "demo.ts"))) as {
    simulatedDeps?: () => Record<string, unknown>;
    simulatedWorld?: () => Record<string, unknown>;
  };
  const world = (demo.simulatedDeps ?? demo.simulatedWorld)!();
  const target = { ...(await loadReplayTarget(pattern)), depsShape: world.deps };
  return { outcome, target, world };
}

/** Every list and map the simulated world keeps (calls, charges, emails sent...), by name, with its size. */
function records(world: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(world).flatMap(([name, value]) =>
      Array.isArray(value) ? [[name, value.length]] : value instanceof Map ? [[name, value.size]] : [],
    ),
  );
}

function fail(message: string): never {
  throw new Error(message);
}

function incompatible(report: ReplayReport) {
  if (report.outcome !== "incompatible")
    throw new Error(`expected incompatible, got ${JSON.stringify(report)}`);
  return report;
}

/** The longest history of the execution while still in flight. */
function inFlight(events: Event[]): Event[] {
  return inFlightPrefixes(events).at(-1)!;
}

describe.each(PATTERNS)("%s", (pattern) => {
  // Each pattern on its own: one that does not load fails its own tests only.
  let recorded: Recorded | undefined;
  beforeAll(async () => {
    recorded = await recordPattern(pattern);
  });
  const get = () => recorded ?? fail(`${pattern} could not be recorded`);

  it("replays its own finished history and would end as the recorded run ended, without calling anything", async () => {
    const { outcome, target, world } = get();
    const report = await checkReplay(outcome.history, target);

    expect(report).toMatchObject({ outcome: "compatible", ended: outcome.summary.status });
    if (report.outcome !== "compatible") return;
    expect(report.next.kind).toBe("completes");
    if (report.next.kind !== "completes") return;
    expect(report.next.status).toBe(outcome.summary.status);
    if (report.next.status === "SUCCEEDED") expect(report.next.result).toEqual(outcome.result);
    else expect(report.next.error).toEqual(outcome.error);
    expect(Object.values(records(world)).every((size) => size === 0)).toBe(true);
  });

  it("replays the history at the end of every invocation, and names an operation the run really did next", async () => {
    const { outcome, target, world } = get();
    const prefixes = inFlightPrefixes(outcome.history);
    expect(prefixes.length).toBeGreaterThanOrEqual(1);
    for (const prefix of prefixes) {
      const report = await checkReplay(prefix, target);
      expect(report).toMatchObject({ outcome: "compatible" });
      if (report.outcome !== "compatible" || report.next.kind !== "operation") continue;
      // The operation the check says comes next is one the recorded run went on to checkpoint.
      const next = report.next;
      const later = outcome.history.slice(prefix.length);
      expect(
        later.some(
          (event) => event.Name === next.name || (next.name === undefined && event.Name === undefined),
        ),
      ).toBe(true);
    }
    expect(Object.values(records(world)).every((size) => size === 0)).toBe(true);
  });

  it("reports a renamed first operation at operation 1, with the SDK's NonDeterministicExecutionError", async () => {
    const { outcome, target } = get();
    const events = inFlight(outcome.history);
    const first = rootOperations(events)[0]?.operation ?? fail("no operation recorded");
    const renamed = `${first.Name}-renamed`;

    const report = incompatible(
      await checkReplay(events, target, { reshape: changeCode({ rename: { [first.Name!]: renamed } }) }),
    );

    expect(report.position).toBe("1");
    expect(report.recorded).toMatchObject({ name: first.Name, type: first.Type });
    expect(report.code).toContain(`"${renamed}"`);
    expect(report.sdkError?.type).toBe("NonDeterministicExecutionError");
    expect(report.sdkError?.message).toContain(`Expected name "${first.Name}", but got "${renamed}"`);
  });

  it("reports two operations swapped at the first of them", async () => {
    const { outcome, target } = get();
    const roots = rootOperations(outcome.history);
    // Two top-level operations of the same kind (their types match, so only their order tells them apart).
    const pair = roots.flatMap((a, i) =>
      roots
        .slice(i + 1)
        .filter((b) => b.operation.Type === a.operation.Type && b.operation.SubType === a.operation.SubType)
        .filter((b) => a.operation.Name && b.operation.Name && a.operation.Name !== b.operation.Name)
        .map((b) => [a, b] as const),
    )[0];
    expect(pair).toBeDefined();
    const [a, b] = pair!;

    const report = incompatible(
      await checkReplay(outcome.history, target, {
        reshape: changeCode({
          rename: { [a.operation.Name!]: b.operation.Name!, [b.operation.Name!]: a.operation.Name! },
        }),
      }),
    );

    expect(report.position).toBe(a.position);
    expect(report.recorded?.name).toBe(a.operation.Name);
    expect(report.code).toContain(`"${b.operation.Name}"`);
  });

  it("reports a step added before the others at operation 1", async () => {
    const { outcome, target } = get();
    const events = inFlight(outcome.history);
    const first = rootOperations(events)[0]?.operation ?? fail("no operation recorded");

    const report = incompatible(
      await checkReplay(events, target, {
        reshape: changeCode({
          before: (context) => void context.step("replay-check-added", async () => "added"),
        }),
      }),
    );

    expect(report).toMatchObject({ position: "1", recorded: { name: first.Name } });
    // The SDK compares the type first, then the name.
    expect(report.sdkError?.message).toContain(
      first.Type === "STEP"
        ? 'but got "replay-check-added"'
        : `Expected type "${first.Type}", but got "STEP"`,
    );
  });

  it("reports an operation of another type in the place of the first", async () => {
    const { outcome, target } = get();
    const events = inFlight(outcome.history);
    const first = rootOperations(events)[0]?.operation ?? fail("no operation recorded");
    const other = first.Type === "WAIT" ? "step" : "wait";

    const report = incompatible(
      await checkReplay(events, target, {
        reshape: changeCode({
          before: (context) =>
            void (other === "wait"
              ? context.wait(first.Name!, { seconds: 1 })
              : context.step(first.Name, async () => "added")),
        }),
      }),
    );

    expect(report.position).toBe("1");
    expect(report.code).toBe(`asked for a ${other.toUpperCase()} operation instead`);
    expect(report.sdkError?.message).toContain(`Expected type "${first.Type}"`);
  });
});

describe("map-parallel with FLAT nesting (items are virtual contexts, their operations one level deeper)", () => {
  it("finds every operation's position and replays the history at every point", async () => {
    const dir = path.join(repoRoot, "patterns", "map-parallel", "src");
    const index = (await import(path.join(dir, "index.ts"))) as {
      createHandler: (deps: unknown, config: unknown) => DurableLambdaHandler;
    };
    const demo = (await import(path.join(dir, "demo.ts"))) as { simulatedWorld: () => { deps: unknown } };
    const flat = { nesting: NestingType.FLAT };
    const scenario = await loadScenario("map-parallel");
    const { history } = await record({
      ...scenario,
      createHandler: () => index.createHandler(demo.simulatedWorld().deps, flat),
    });
    const target = await loadReplayTarget("map-parallel", flat);

    const positions = rebuildOperations(history)
      .operations.filter((o) => o.operation.Type !== "EXECUTION")
      .map((o) => o.position);
    expect(positions).not.toContain("?");
    // A FLAT item's operations hang from the map itself, numbered under the item's (unrecorded) position.
    expect(positions.some((position) => position.split("-").length === 3)).toBe(true);
    for (const prefix of [...inFlightPrefixes(history), history]) {
      expect(await checkReplay(prefix, target)).toMatchObject({ outcome: "compatible" });
    }
  });
});
