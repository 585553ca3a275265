/**
 * The replay check on small workflows written for these tests: each records a history with one version of
 * the code and replays it on another, the way a deployment would replay executions in flight.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  GetDurableExecutionHistoryCommand,
  ListDurableExecutionsByFunctionCommand,
  type Event,
} from "@aws-sdk/client-lambda";
import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";
import type { Lambda } from "../src/aws";
import { doctor } from "../src/doctor/cli";
import { checkReplay, type ReplayReport, type ReplayTarget } from "../src/replay/check";
import { rebuildOperations } from "../src/replay/operations";
import { loadScenario } from "../src/scenario";
import { inFlightPrefixes, record, recordHandler } from "./helpers/replay";

/** A shop's outside world that keeps its own records. */
function shop() {
  const shipped: string[] = [];
  const emails: string[] = [];
  const deps = {
    stock: { check: async (sku: string) => ({ sku, inStock: true }) },
    carrier: { ship: async (sku: string) => void shipped.push(sku) },
    notifier: { send: async (text: string) => void emails.push(text) },
    /** Data the workflow reads outside its steps: it stays readable under the guard. */
    settings: { coolOff: { days: 2 }, labels: ["fragile"] },
  };
  return { deps, shipped, emails };
}
type Shop = ReturnType<typeof shop>["deps"];
type Workflow = (event: { sku: string }, context: DurableContext, deps: Shop) => Promise<unknown>;

const original: Workflow = async (event, context, deps) => {
  const stock = await context.step("check-stock", () => deps.stock.check(event.sku));
  if (stock.inStock) await context.step("ship-now", () => deps.carrier.ship(event.sku));
  else await context.step("back-order", () => deps.notifier.send(`${event.sku} is on back order`));
  await context.wait("cool-off", deps.settings.coolOff);
  await context.step("ask-for-review", () => deps.notifier.send("How was it?"));
  return { sku: event.sku, shipped: stock.inStock };
};

/** The workflow as a durable handler, as a pattern's createHandler(deps) builds it. */
function handlerOf(workflow: Workflow, deps: Shop = shop().deps) {
  return withDurableExecution((event: { sku: string }, context) => workflow(event, context, deps));
}

function targetOf(workflow: Workflow, world = shop()): ReplayTarget & { world: ReturnType<typeof shop> } {
  return {
    label: "shop",
    createHandler: (deps: Shop) => handlerOf(workflow, deps),
    depsShape: world.deps,
    // The module object itself (an import would be a read-only copy): the check swaps withDurableExecution on it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    sdk: require("@aws/durable-execution-sdk-js") as ReplayTarget["sdk"],
    world,
  };
}

/** The original workflow's history, cut where the execution sleeps in its wait (a run in flight). */
async function inFlightHistory(): Promise<Event[]> {
  const world = shop();
  const run = await recordHandler(handlerOf(original, world.deps), { sku: "MUG-BLUE" });
  expect(world.shipped).toEqual(["MUG-BLUE"]);
  const sleeping = inFlightPrefixes(run.history).find((prefix) => prefix.at(-1)?.Name === "cool-off");
  return sleeping!;
}

let history: Event[];
beforeAll(async () => {
  history = await inFlightHistory();
});

function expectIncompatible(report: ReplayReport) {
  if (report.outcome !== "incompatible")
    throw new Error(`expected incompatible, got ${JSON.stringify(report)}`);
  return report;
}

describe("compatible", () => {
  it("replays the recorded operations without calling anything, and names what the code does next", async () => {
    const target = targetOf(original);
    const report = await checkReplay(history, target);

    expect(report).toEqual({
      outcome: "compatible",
      recorded: 3,
      next: { kind: "operation", position: "4", action: "run", name: "ask-for-review", type: "STEP" },
    });
    // The guard stood in for every dependency: the shop itself saw nothing.
    expect(target.world.shipped).toEqual([]);
    expect(target.world.emails).toEqual([]);
  });

  it("accepts an operation added after the recorded ones", async () => {
    const appended: Workflow = async (event, context, deps) => {
      const result = await original(event, context, deps);
      await context.step("offer-discount", async () => "10%");
      return result;
    };
    const report = await checkReplay(history, targetOf(appended));
    expect(report).toMatchObject({ outcome: "compatible", next: { name: "ask-for-review" } });
  });

  it("says the code waits, as recorded, for a callback nobody has answered", async () => {
    const waiting: Workflow = async (event, context) => {
      await context.step("check-stock", async () => ({ sku: event.sku, inStock: true }));
      return context.waitForCallback("approve-shipment", async () => undefined, { timeout: { hours: 1 } });
    };
    const run = await record({
      title: "waits for a person",
      event: { sku: "TEE-L" },
      createHandler: () => handlerOf(waiting),
      actors: [{ role: "warehouse", operation: "approve-shipment", replies: [{ succeed: "yes" }] }],
    });
    const events = run.history;
    // As it stood while waiting, before the warehouse answered: the callback started, the request sent.
    const started = events.findIndex((event) => event.EventType === "CallbackStarted");
    const sent = events.findIndex((event, index) => index > started && event.EventType === "StepSucceeded");
    const report = await checkReplay(events.slice(0, sent + 1), targetOf(waiting));

    expect(report).toMatchObject({
      outcome: "compatible",
      next: { kind: "waits", on: [{ type: "CALLBACK", status: "STARTED" }] },
    });
  });

  it("does not look inside a finished child context: its result is replayed, its code does not run", async () => {
    const grouped = (inner: string): Workflow => {
      return async (event, context) => {
        await context.runInChildContext("pack", async (child) => {
          await child.step(inner, async () => "boxed");
        });
        await context.wait("cool-off", { days: 1 });
        return "done";
      };
    };
    const events = (await recordHandler(handlerOf(grouped("wrap-parcel")), { sku: "MUG" })).history;
    const sleeping = inFlightPrefixes(events).find((prefix) => prefix.at(-1)?.Name === "cool-off")!;

    expect(await checkReplay(sleeping, targetOf(grouped("bubble-wrap")))).toMatchObject({
      outcome: "compatible",
    });
    // The same change inside a child context still running is a break, found at its position inside it.
    const packing = events.slice(0, events.findIndex((event) => event.EventType === "StepStarted") + 1);
    const report = expectIncompatible(await checkReplay(packing, targetOf(grouped("bubble-wrap"))));
    expect(report).toMatchObject({ position: "1-1", recorded: { name: "wrap-parcel" } });
    expect(report.sdkError?.message).toContain('but got "bubble-wrap"');
  });
});

describe("incompatible", () => {
  it("a branch that takes the other path on the same checkpointed result", async () => {
    const flipped: Workflow = async (event, context, deps) => {
      const stock = await context.step("check-stock", () => deps.stock.check(event.sku));
      // The new code reads the same answer differently: the recorded inStock: true now means back order.
      if (!stock.inStock) await context.step("ship-now", () => deps.carrier.ship(event.sku));
      else await context.step("back-order", () => deps.notifier.send(`${event.sku} is on back order`));
      return "changed";
    };
    const target = targetOf(flipped);
    const report = expectIncompatible(await checkReplay(history, target));

    expect(report).toMatchObject({
      position: "2",
      recorded: { name: "ship-now", type: "STEP", status: "SUCCEEDED" },
      code: 'asked for "back-order" instead',
      sdkError: { type: "NonDeterministicExecutionError" },
    });
    expect(target.world.emails).toEqual([]);
  });

  it("an operation removed from the middle", async () => {
    const noShipping: Workflow = async (event, context, deps) => {
      await context.step("check-stock", () => deps.stock.check(event.sku));
      await context.wait("cool-off", deps.settings.coolOff);
      return "changed";
    };
    const report = expectIncompatible(await checkReplay(history, targetOf(noShipping)));
    expect(report).toMatchObject({ position: "2", recorded: { name: "ship-now" } });
    expect(report.sdkError?.message).toContain('Expected type "STEP", but got "WAIT"');
  });

  it("the operation the execution is waiting in, removed from the end: the SDK cannot see it, the check does", async () => {
    const noCoolOff: Workflow = async (event, context, deps) => {
      const stock = await context.step("check-stock", () => deps.stock.check(event.sku));
      await context.step("ship-now", () => deps.carrier.ship(event.sku));
      return { sku: event.sku, shipped: stock.inStock };
    };
    const report = expectIncompatible(await checkReplay(history, targetOf(noCoolOff)));
    expect(report).toEqual({
      outcome: "incompatible",
      position: "3",
      recorded: { position: "3", type: "WAIT", subType: "Wait", name: "cool-off", status: "STARTED" },
      code: "never asked for it and went on (removed, or a branch now goes around it)",
    });
  });

  it("a dependency called outside a step, which would run again on every replay", async () => {
    const chatty: Workflow = async (event, context, deps) => {
      await deps.notifier.send("replaying"); // the mistake: outside any step
      return original(event, context, deps);
    };
    const target = targetOf(chatty);
    const report = expectIncompatible(await checkReplay(history, target));
    expect(report.code).toBe(
      "called deps.notifier.send outside any step, while replaying recorded operations",
    );
    expect(target.world.emails).toEqual([]);
  });
});

describe("cannot tell", () => {
  it("a history fetched without execution data", async () => {
    const bare = history.map(
      (event) =>
        JSON.parse(JSON.stringify(event), (key, value: unknown) =>
          key === "Payload" ? undefined : value,
        ) as Event,
    );
    const report = await checkReplay(
      bare.map((event, index) => ({ ...event, EventTimestamp: history[index]!.EventTimestamp })),
      targetOf(original),
    );
    expect(report).toEqual({
      outcome: "cannot-tell",
      reason: expect.stringContaining("the history has no execution data") as string,
    });
  });

  it("a history whose payloads the service truncated", async () => {
    const cut = history.map((event) =>
      event.StepSucceededDetails
        ? { ...event, StepSucceededDetails: { ...event.StepSucceededDetails, Result: { Truncated: true } } }
        : event,
    );
    const report = await checkReplay(cut, targetOf(original));
    expect(report).toMatchObject({
      outcome: "cannot-tell",
      reason: expect.stringContaining("truncated") as string,
    });
  });

  it("code that fails before its first operation: an input it now refuses, or a setting missing here", async () => {
    const strict: Workflow = async (event, context, deps) => {
      if (!/^[A-Z]+-[A-Z]+-\d+$/.test(event.sku)) throw new Error(`sku ${event.sku} must end in a number`);
      return original(event, context, deps);
    };
    const report = await checkReplay(history, targetOf(strict));
    expect(report).toMatchObject({ outcome: "cannot-tell" });
    if (report.outcome !== "cannot-tell") return;
    expect(report.reason).toContain(
      "the code fails before its first operation (Error: sku MUG-BLUE must end in a number)",
    );
    expect(report.reason).toContain("where the history has check-stock (STEP, operation 1)");
  });

  it("a history that does not start at the beginning", async () => {
    const report = await checkReplay(history.slice(1), targetOf(original));
    expect(report).toMatchObject({
      outcome: "cannot-tell",
      reason: expect.stringContaining("ExecutionStarted") as string,
    });
  });
});

describe("rebuilding the operations", () => {
  it("hands over a running wait as fired and keeps what each operation checkpointed", () => {
    const rebuilt = rebuildOperations(history).operations;
    const byName = new Map(rebuilt.map((o) => [o.operation.Name ?? o.operation.Type, o]));
    expect(byName.get("check-stock")?.operation).toMatchObject({
      Type: "STEP",
      Status: "SUCCEEDED",
      StepDetails: { Result: JSON.stringify({ sku: "MUG-BLUE", inStock: true }) },
    });
    expect(byName.get("cool-off")).toMatchObject({
      position: "3",
      recordedStatus: "STARTED",
      operation: { Status: "SUCCEEDED" },
    });
    expect(byName.get("EXECUTION")?.operation.ExecutionDetails?.InputPayload).toBe(
      JSON.stringify({ sku: "MUG-BLUE" }),
    );
  });
});

describe("pnpm run doctor --replay", () => {
  async function runDoctor(argv: string[], lambda?: Lambda) {
    const lines: string[] = [];
    const code = await doctor(argv, {
      out: (line) => lines.push(line),
      now: () => new Date(),
      cwd: process.cwd(),
      ...(lambda ? { lambda: () => lambda } : {}),
    });
    return { code, output: lines.join("\n") };
  }
  const file = (events: unknown) => {
    const name = path.join(mkdtempSync(path.join(tmpdir(), "replay-")), "history.json");
    writeFileSync(name, typeof events === "string" ? events : JSON.stringify({ Events: events }));
    return name;
  };

  let steps: Event[];
  beforeAll(async () => {
    const scenario = await loadScenario("steps");
    steps = (await record(scenario)).history;
  });

  it("says compatible and what comes next (exit 0)", async () => {
    // As it stood once its first operation was done.
    const early = inFlightPrefixes(steps)[0]!;
    const { code, output } = await runDoctor(["--replay", file(early), "--pattern", "steps"]);
    expect(output).toMatch(/^Replay check: .*history\.json against the current code of steps\nCompatible: /);
    expect(output).toMatch(/\nNext: the code would /);
    expect(code).toBe(0);
  });

  it("says incompatible at the operation where history and code part ways (exit 3)", async () => {
    // The history now says the execution began with an operation the current code does not have.
    const firstName = steps.find((event) => event.Name)!.Name!;
    const renamed = steps.map((event) =>
      event.Name === firstName ? { ...event, Name: "an-old-name" } : event,
    );
    const { code, output } = await runDoctor(["--replay", file(renamed), "--pattern", "steps"]);
    expect(output).toContain('Incompatible at operation 1: the history has step "an-old-name" (');
    expect(output).toContain(`the code asked for "${firstName}" instead.`);
    expect(output).toContain("NonDeterministicExecutionError");
    expect(output).toContain("publish it as a new version and move the alias");
    expect(code).toBe(3);
  });

  it("says cannot tell for a history without execution data (exit 4)", async () => {
    const text = JSON.stringify({ Events: steps }).replace(
      /"Payload":"(?:[^"\\]|\\.)*"/g,
      '"Truncated":false',
    );
    const { code, output } = await runDoctor(["--replay", file(text), "--pattern", "steps"]);
    expect(output).toContain("Cannot tell: the history has no execution data");
    expect(code).toBe(4);
  });

  it("fetches the history with its execution data for --replay --execution", async () => {
    const arn =
      "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-StepsHandler:7/durable-execution/x/1";
    const sent: GetDurableExecutionHistoryCommand[] = [];
    const lambda = {
      send: jest.fn((command: GetDurableExecutionHistoryCommand) => {
        sent.push(command);
        return Promise.resolve({ Events: steps });
      }),
    } as unknown as Lambda;
    const { code, output } = await runDoctor(["--replay", "--execution", arn, "--pattern", "steps"], lambda);
    expect(sent[0]).toBeInstanceOf(GetDurableExecutionHistoryCommand);
    expect(sent[0]!.input).toMatchObject({ DurableExecutionArn: arn, IncludeExecutionData: true });
    expect(output).toContain(`Replay check: ${arn} against the current code of steps\nCompatible`);
    expect(code).toBe(0);
  });

  it("checks every execution still running on a function with --replay --function, and fails on the worst", async () => {
    const running = (n: number) =>
      `arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-StepsHandler:7/durable-execution/run-${n}/id`;
    const firstName = steps.find((event) => event.Name)!.Name!;
    const histories = new Map<string, Event[]>([
      [running(1), inFlightPrefixes(steps).at(-1)!],
      [
        running(2),
        steps.map((event) => (event.Name === firstName ? { ...event, Name: "an-old-name" } : event)),
      ],
    ]);
    const listed: ListDurableExecutionsByFunctionCommand[] = [];
    const lambda = {
      send: jest.fn((command: unknown) => {
        if (command instanceof ListDurableExecutionsByFunctionCommand) {
          listed.push(command);
          // Two pages, as the API pages them.
          const first = command.input.Marker === undefined;
          return Promise.resolve({
            DurableExecutions: [{ DurableExecutionArn: running(first ? 1 : 2), Status: "RUNNING" }],
            NextMarker: first ? "page-2" : undefined,
          });
        }
        const arn = (command as GetDurableExecutionHistoryCommand).input.DurableExecutionArn!;
        return Promise.resolve({ Events: histories.get(arn) });
      }),
    } as unknown as Lambda;

    const { code, output } = await runDoctor(
      ["--replay", "--function", "DurableCookbook-dev-StepsHandler:7", "--pattern", "steps"],
      lambda,
    );

    expect(listed.map((command) => command.input)).toEqual([
      {
        FunctionName: "DurableCookbook-dev-StepsHandler",
        Qualifier: "7",
        Statuses: ["RUNNING"],
        Marker: undefined,
      },
      {
        FunctionName: "DurableCookbook-dev-StepsHandler",
        Qualifier: "7",
        Statuses: ["RUNNING"],
        Marker: "page-2",
      },
    ]);
    expect(output).toContain(`${running(1)}\n  Compatible`);
    expect(output).toContain(`${running(2)}\n  Incompatible at operation 1`);
    expect(output.split("\n").at(-1)).toBe("1 compatible, 1 incompatible, 0 cannot tell");
    expect(code).toBe(3);
  });

  it.each([
    ["a truncated file", () => file(JSON.stringify({ Events: steps }).slice(0, 500)), /looks truncated/],
    ["not a history", () => file('{"operations": []}'), /has no "Events" array/],
  ])("%s is a one-line error (exit 2)", async (_label, make, message) => {
    const { code, output } = await runDoctor(["--replay", make(), "--pattern", "steps"]);
    expect(output).toMatch(message);
    expect(output.split("\n")).toHaveLength(1);
    expect(code).toBe(2);
  });

  it.each([
    [["--replay", "h.json"], /--replay needs --pattern/],
    [["h.json", "--pattern", "steps"], /--pattern goes with --replay/],
    [["--replay", "h.json", "--pattern"], /--pattern needs a value/],
  ])("rejects %j (exit 2)", async (argv, message) => {
    const { code, output } = await runDoctor(argv);
    expect(output).toMatch(message);
    expect(code).toBe(2);
  });

  it("names the patterns when the pattern is unknown (exit 2)", async () => {
    const { code, output } = await runDoctor(["--replay", file(steps), "--pattern", "nope"]);
    expect(output).toMatch(/Unknown pattern "nope". Patterns: .*steps/);
    expect(code).toBe(2);
  });
});
