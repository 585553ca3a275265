import { mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { withDurableExecution } from "@aws/durable-execution-sdk-js";
import { demo as entryPointsDemo } from "../../../patterns/entry-points/src/demo";
import { main } from "../src/cli";
import * as runLocal from "../src/run-local";
import type { DemoDoor, DemoScenario } from "../src/scenario";

// Checked by the typecheck: the runner's door fits the shape the pattern's demo declares for itself.
const checkedScenario: DemoScenario = entryPointsDemo;

async function runDemo(...argv: string[]) {
  const lines: string[] = [];
  const code = await main(argv, (line) => lines.push(line));
  return { code, lines, output: lines.join("\n") };
}

describe("pnpm demo entry-points: the front door on 127.0.0.1, driven as a client and the provider would", () => {
  let run: Awaited<ReturnType<typeof runDemo>>;
  let outcome: runLocal.LocalRunOutcome;
  let html: string;

  beforeAll(async () => {
    const spy = jest.spyOn(runLocal, "runLocally");
    const htmlFile = path.join(mkdtempSync(path.join(tmpdir(), "front-door-")), "timeline.html");
    try {
      run = await runDemo("entry-points", "--html", htmlFile);
      outcome = (await spy.mock.results[0]!.value) as runLocal.LocalRunOutcome;
    } finally {
      spy.mockRestore();
    }
    html = readFileSync(htmlFile, "utf8");
  });

  /** The first line from `after` on that contains every text, and where it is. */
  const find = (texts: string[], after = -1) => {
    const index = run.lines.findIndex((line, i) => i > after && texts.every((text) => line.includes(text)));
    if (index < 0) throw new Error(`No line after ${after} with ${JSON.stringify(texts)}:\n${run.output}`);
    return index;
  };

  it("tells the story in order: 202, the repeat, status polls, the signed webhook, the resumed execution, the outcome", () => {
    const posted = find(["☞ client sends POST /orders"]);
    const accepted = find(
      [
        "☞ front door answers 202",
        '"statusUrl":"/orders/A-1001"',
        '"repeated":false',
        "location: /orders/A-1001",
      ],
      posted,
    );
    const repeated = find(["☞ front door answers 202", '"repeated":true'], accepted);
    const polled = find(["☞ client sends GET /orders/A-1001"], repeated);
    const running = find(['answers 200 {"orderId":"A-1001","status":"RUNNING"}'], polled);
    find(['answers 200 {"orderId":"A-1001","status":"RUNNING"}'], running);
    const forged = find(["☞ payment provider sends POST /webhooks/payments", "another secret"], running);
    find(["☞ front door answers 401"], forged);
    const delivered = find(["☞ payment provider sends POST /webhooks/payments", "signed"], forged + 1);
    const resumed = find(["▶ invocation 2"], delivered);
    find(["payment-webhook", "callback answered"], delivered);
    find(["fulfil-order", "✓ succeeded"], resumed);
    const answered = find(['"action":"resumed the checkout"'], delivered);
    const again = find(["☞ payment provider sends POST /webhooks/payments", "same delivery again"], answered);
    find(['"action":"already settled: nothing to do"'], again);
    const ended = find(["✔ execution SUCCEEDED"], resumed);
    find(['answers 200 {"orderId":"A-1001","status":"SUCCEEDED"', '"status":"FULFILLED"'], ended);
    expect(run.code).toBe(0);
  });

  it("ran one execution for the two requests, over at least two invocations, and resumed it once", () => {
    expect(outcome.summary).toMatchObject({ status: "SUCCEEDED" });
    expect(outcome.summary.invocations).toBeGreaterThanOrEqual(2);
    expect(outcome.history.filter((event) => event.EventType === "ExecutionStarted")).toHaveLength(1);
    expect(outcome.history.filter((event) => event.EventType === "CallbackSucceeded")).toHaveLength(1);
    expect(outcome.result).toMatchObject({ status: "FULFILLED", confirmedBy: "webhook" });
  });

  it("shows no callback id, in the text or on the HTML page, which draws the front door's lines too", () => {
    const callbackIds = outcome.history.flatMap((event) => event.CallbackStartedDetails?.CallbackId ?? []);
    expect(callbackIds).toHaveLength(1);
    for (const callbackId of callbackIds) {
      expect(run.output).not.toContain(callbackId);
      expect(html).not.toContain(callbackId);
    }
    expect(html).toContain("front door answers 202");
    expect(html).toContain("payment provider sends POST /webhooks/payments");
  });

  it("listened on 127.0.0.1 only, and closed its server at the end of the run", async () => {
    const listening = run.lines[find(["☞ front door listens on http://127.0.0.1:"])]!;
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(listening)![1]!;
    expect(run.lines[find([`☞ front door closed ${url}`])]).toBeDefined();
    // A new connection, not fetch's pooled one: nothing listens on the port any more.
    const { port } = new URL(url);
    const refused = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.on("error", resolve);
    });
    expect(refused?.code).toBe("ECONNREFUSED");
  });
});

it("pnpm demo entry-points with an order the front door refuses: its 422 on the timeline, no execution, exit 1", async () => {
  const { code, output } = await runDemo("entry-points", "--event", `${__dirname}/fixtures/bad-order.json`);
  expect(output).toContain("☞ front door answers 422");
  expect(output).not.toMatch(/▶ invocation/);
  expect(output).toContain("Error: NotStarted: the front door started no execution");
  expect(code).toBe(1);
});

describe("the door the runner hands a scenario's front door", () => {
  /** A workflow of the test's own: it publishes its callback's id to a registry and waits for the answer. */
  const registry = new Map<string, string>();
  const scenario = (frontDoor: (door: DemoDoor) => Promise<void>): DemoScenario => ({
    ...checkedScenario,
    title: "a callback behind a front door",
    event: { ticket: "T-1", tags: { a: 1, b: 2 } },
    createHandler: () =>
      withDurableExecution(async (event: { ticket: string }, context) => {
        const [answer, callbackId] = await context.createCallback("approval");
        await context.step("publish-callback", async () => {
          registry.set(event.ticket, callbackId);
        });
        return { ticket: event.ticket, answer: await answer };
      }),
    frontDoor,
  });

  it("starts one execution, finds it again for the same input, refuses another, completes a callback once", async () => {
    const answers: unknown[] = [];
    const outcome = await runLocal.runLocally(
      scenario(async (door) => {
        answers.push(await door.describe("ticket-T-1"));
        answers.push(await door.start("ticket-T-1", door.event));
        answers.push(await door.start("ticket-T-1", { tags: { b: 2, a: 1 }, ticket: "T-1" }));
        answers.push(await door.start("ticket-T-1", { ticket: "T-2" }));
        await expect(door.start("ticket-T-2", { ticket: "T-2" })).rejects.toThrow(/runs one execution/);
        answers.push(await door.describe("ticket-T-1"));
        answers.push(await door.describe("ticket-T-2"));
        await door.reached("publish-callback", "COMPLETED");
        answers.push(await door.completeCallback("not-a-callback-id", "no"));
        answers.push(await door.completeCallback(registry.get("T-1")!, "yes"));
        answers.push(await door.completeCallback(registry.get("T-1")!, "twice"));
        await door.ended();
        answers.push(await door.describe("ticket-T-1"));
        door.show("the test", "has seen it end");
      }),
      { ticket: "T-1", tags: { a: 1, b: 2 } },
      () => undefined,
    );

    expect(answers).toEqual([
      undefined,
      "started",
      "already-started",
      "conflict",
      { name: "ticket-T-1", status: "RUNNING" },
      undefined,
      "not-found",
      "completed",
      "already-closed",
      { name: "ticket-T-1", status: "SUCCEEDED", result: { ticket: "T-1", answer: "yes" } },
    ]);
    expect(outcome.summary.status).toBe("SUCCEEDED");
    expect(outcome.summary.invocations).toBeGreaterThanOrEqual(2);
    // The front door's line comes after the execution's end, at its virtual time.
    const kinds = outcome.events.map((event) => event.kind);
    expect(kinds.lastIndexOf("actor")).toBeGreaterThan(kinds.indexOf("execution-end"));
  });

  it("a front door that starts nothing ends the run as not started, with its reason", async () => {
    const outcome = await runLocal.runLocally(
      scenario(async (door) => {
        await expect(door.ended()).rejects.toThrow(/no execution has started/);
        door.show("front door", "answers 422");
      }),
      {},
      () => undefined,
    );
    expect(outcome.summary).toMatchObject({ status: "NOT_STARTED", operations: 0, invocations: 0 });
    expect(outcome.error?.type).toBe("NotStarted");
    expect(outcome.history).toEqual([]);
    expect(outcome.events.map((event) => event.kind)).toEqual(["actor"]);
  });

  it("waiting for an operation the execution never reaches fails once it has ended", async () => {
    const outcome = await runLocal.runLocally(
      scenario(async (door) => {
        await door.start("ticket-T-3", { ticket: "T-3" });
        await door.reached("publish-callback", "COMPLETED");
        await door.completeCallback(registry.get("T-3")!, "yes");
        await expect(door.reached("never-there", "STARTED")).rejects.toThrow(
          /not found after execution completion/,
        );
      }),
      {},
      () => undefined,
    );
    expect(outcome.summary.status).toBe("SUCCEEDED");
  });
});
