import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  GetDurableExecutionHistoryCommand,
  InvokeCommand,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
  type Event,
} from "@aws-sdk/client-lambda";
import type { Lambda } from "../src/aws";
import { main } from "../src/cli";
import { executionNameFor, readyCallback, runInCloud } from "../src/cloud";
import { deployedFunctionArn, NotDeployedError, outputKey } from "../src/outputs";
import type { DemoScenario } from "../src/scenario";
import type { TimelineEvent } from "../src/timeline";
import { loadFixture } from "./helpers/fixtures";

const functionArn =
  "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-AgentLoopHandler:live";
const executionArn =
  "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-AgentLoopHandler:3/durable-execution/demo-agent-loop-1/e1";

/**
 * A stand-in for Lambda running the agent-loop function: the history (recorded from a local run) stops
 * after the approval callback started, until someone sends the callback's answer.
 */
function fakeLambda(history: Event[], options: { invokeArn?: string | undefined } = {}) {
  const sent: unknown[] = [];
  const callbackStarted = history.findIndex((event) => event.EventType === "CallbackStarted");
  const waitingUpTo =
    history.findIndex((event, index) => index > callbackStarted && event.EventType === "StepSucceeded") + 1;
  let answered = callbackStarted < 0;
  const send = jest.fn((command: unknown) => {
    sent.push(command);
    if (command instanceof InvokeCommand)
      return Promise.resolve({
        StatusCode: 202,
        DurableExecutionArn: "invokeArn" in options ? options.invokeArn : executionArn,
      });
    if (command instanceof GetDurableExecutionHistoryCommand)
      return Promise.resolve({ Events: answered ? history : history.slice(0, waitingUpTo) });
    if (
      command instanceof SendDurableExecutionCallbackSuccessCommand ||
      command instanceof SendDurableExecutionCallbackFailureCommand
    ) {
      answered = true;
      return Promise.resolve({});
    }
    if (command instanceof SendDurableExecutionCallbackHeartbeatCommand) return Promise.resolve({});
    return Promise.reject(new Error(`unexpected ${String(command)}`));
  });
  return { lambda: { send } as unknown as Lambda, sent };
}

/** The agent-loop demo's shape, as recorded in the fixture: a person approves the refund. */
const agentLoop: DemoScenario = {
  title: "refund approval",
  event: {},
  createHandler: () => () => Promise.reject(new Error("runs in the cloud, not here")),
  actors: [
    {
      role: "support lead (dana)",
      operation: "approve-refund-order-1042",
      waitFor: "SUBMITTED",
      replies: [{ succeed: { approved: true, approver: "dana" } }],
    },
  ],
};

describe("runInCloud (stubbed Lambda)", () => {
  it("starts the alias asynchronously with an execution name, answers the callback, and prints the timeline", async () => {
    const history = loadFixture("approved-by-callback");
    const { lambda, sent } = fakeLambda(history);
    const events: TimelineEvent[] = [];
    const outcome = await runInCloud(
      agentLoop,
      { hello: "world" },
      { lambda, functionArn, executionName: "demo-agent-loop-1", sleep: () => Promise.resolve() },
      (e) => events.push(e),
    );

    const invoke = sent[0] as InvokeCommand;
    expect(invoke).toBeInstanceOf(InvokeCommand);
    expect(invoke.input).toMatchObject({
      FunctionName: functionArn,
      InvocationType: "Event",
      DurableExecutionName: "demo-agent-loop-1",
    });
    expect(new TextDecoder().decode(invoke.input.Payload as Uint8Array)).toBe('{"hello":"world"}');

    const answers = sent.filter((command) => command instanceof SendDurableExecutionCallbackSuccessCommand);
    expect(answers).toHaveLength(1);
    const callbackId = history.find((event) => event.EventType === "CallbackStarted")!.CallbackStartedDetails!
      .CallbackId;
    expect(answers[0]!.input.CallbackId).toBe(callbackId);
    expect(JSON.parse(new TextDecoder().decode(answers[0]!.input.Result as Uint8Array))).toEqual(
      (agentLoop.actors![0]!.replies[0] as { succeed: unknown }).succeed,
    );

    expect(outcome).toMatchObject({ executionArn, status: "SUCCEEDED" });
    expect(events.filter((e) => e.kind === "actor")).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ kind: "execution-end", status: "SUCCEEDED" });
    // Every timeline event printed exactly once although the history was polled several times.
    const operationLines = events
      .filter((e) => e.kind === "operation")
      .map((e) => (e.kind === "operation" ? `${e.operation.id}${e.change}` : ""));
    expect(new Set(operationLines).size).toBe(operationLines.length);
  });

  it("sends failures and heartbeats as the actor's replies say", async () => {
    const history = loadFixture("approved-by-callback");
    const { lambda, sent } = fakeLambda(history);
    const actor = {
      ...agentLoop.actors![0]!,
      replies: [{ heartbeat: true as const }, { fail: { message: "Not refundable", type: "Declined" } }],
    };
    await runInCloud(
      { ...agentLoop, actors: [actor] },
      {},
      { lambda, functionArn, executionName: "x", sleep: () => Promise.resolve() },
      () => undefined,
    );
    const answers = sent.filter(
      (c) =>
        c instanceof SendDurableExecutionCallbackHeartbeatCommand ||
        c instanceof SendDurableExecutionCallbackFailureCommand,
    );
    expect(answers.map((c) => c.constructor.name)).toEqual([
      "SendDurableExecutionCallbackHeartbeatCommand",
      "SendDurableExecutionCallbackFailureCommand",
    ]);
    expect((answers[1] as SendDurableExecutionCallbackFailureCommand).input.Error).toEqual({
      ErrorMessage: "Not refundable",
      ErrorType: "Declined",
    });
  });

  it("leaves a long-waiting execution running and says what it waits for", async () => {
    const history = loadFixture("waiting-on-timer");
    const lambda = {
      send: jest.fn((command: unknown) =>
        Promise.resolve(
          command instanceof InvokeCommand ? { DurableExecutionArn: executionArn } : { Events: history },
        ),
      ),
    } as unknown as Lambda;
    let clock = history.at(-1)!.EventTimestamp!.getTime();
    const outcome = await runInCloud(
      { ...agentLoop, actors: [] },
      {},
      {
        lambda,
        functionArn,
        executionName: "x",
        idleLimitMs: 10_000,
        now: () => new Date(clock),
        sleep: (ms) => Promise.resolve(void (clock += ms)),
      },
      () => undefined,
    );
    expect(outcome.status).toBe("RUNNING");
    expect(outcome.leftRunning).toMatch(/^Sleeping in wait wait-before-review-request/);
  });

  it("explains a function that is not durable", async () => {
    const { lambda } = fakeLambda(loadFixture("approved-by-callback"), { invokeArn: undefined });
    await expect(
      runInCloud(agentLoop, {}, { lambda, functionArn, executionName: "x" }, () => undefined),
    ).rejects.toThrow(/did not start a durable execution/);
  });
});

describe("readyCallback", () => {
  const history = loadFixture("approved-by-callback");
  const start = history.findIndex((event) => event.EventType === "CallbackStarted");
  const actor = { role: "r", operation: "approve-refund-order-1042", replies: [] };

  it("waits for waitForCallback's submitter before answering (SUBMITTED), or not (STARTED)", () => {
    expect(readyCallback(history.slice(0, start + 1), actor)).toBeUndefined();
    expect(readyCallback(history.slice(0, start + 1), { ...actor, waitFor: "STARTED" as const })).toMatch(
      /^eyJ/,
    );
    expect(readyCallback(history.slice(0, start + 3), actor)).toMatch(/^eyJ/);
  });

  it("waits for afterOperation and picks the right occurrence", () => {
    expect(readyCallback(history, { ...actor, afterOperation: "never-happens" })).toBeUndefined();
    expect(readyCallback(history, { ...actor, occurrence: 1 })).toBeUndefined();
    expect(readyCallback(history, { ...actor, operation: "other" })).toBeUndefined();
  });
});

describe("the deployed function comes from infra/cdk-outputs.json", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "outputs-"));
  const write = (content: unknown) => {
    const file = path.join(dir, `${Math.random()}.json`);
    writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    return file;
  };

  it("finds the pattern's alias ARN", () => {
    expect(outputKey("wait-callback")).toBe("WaitCallbackHandlerAliasArn");
    expect(
      deployedFunctionArn(
        "agent-loop",
        write({ "DurableCookbook-dev": { AgentLoopHandlerAliasArn: functionArn, Stage: "dev" } }),
      ),
    ).toBe(functionArn);
  });

  it.each([
    [
      "no file",
      path.join(dir, "missing.json"),
      /No deployed stack found: .* does not exist\. Deploy the stack/,
    ],
    ["broken JSON", "{", /is not valid JSON/],
    [
      "pattern not deployed",
      { "DurableCookbook-dev": { StepsHandlerAliasArn: "x" } },
      /has no AgentLoopHandlerAliasArn/,
    ],
    [
      "two stages",
      { a: { AgentLoopHandlerAliasArn: "x" }, b: { AgentLoopHandlerAliasArn: "y" } },
      /several stacks \(a, b\): pass --function/,
    ],
  ])("%s: a clear message", (_label, content, message) => {
    const file = typeof content === "string" && content.endsWith(".json") ? content : write(content);
    expect(() => deployedFunctionArn("agent-loop", file)).toThrow(NotDeployedError);
    expect(() => deployedFunctionArn("agent-loop", file)).toThrow(message);
  });
});

describe("pnpm demo <pattern> --cloud", () => {
  async function runDemo(argv: string[], io: Parameters<typeof main>[2]) {
    const lines: string[] = [];
    const code = await main(argv, (line) => lines.push(line), io);
    return { code, output: lines.join("\n") };
  }

  it("runs against the function named by --function and exits 0 when the execution succeeds", async () => {
    const { lambda, sent } = fakeLambda(loadFixture("succeeded"));
    const { code, output } = await runDemo(["steps", "--cloud", "--function", functionArn], {
      lambda: () => lambda,
      sleep: () => Promise.resolve(),
    });
    expect(output).toMatch(/Starting arn:\S+:live as durable execution demo-steps-\d{14}/);
    expect(output).toMatch(/reserve-stock\s+step\s+↻ retrying: attempt 1 failed/);
    expect(output).toMatch(/✔ execution SUCCEEDED/);
    expect((sent[0] as InvokeCommand).input.DurableExecutionName).toMatch(/^demo-steps-\d{14}$/);
    expect(output).toContain(`Execution: ${executionArn}`);
    expect(code).toBe(0);
  });

  it("explains an undeployed stack (exit 1)", async () => {
    const { code, output } = await runDemo(["steps", "--cloud"], {
      outputsFile: "/nonexistent/cdk-outputs.json",
    });
    expect(output).toMatch(/No deployed stack found/);
    expect(code).toBe(1);
  });

  it("explains missing credentials (exit 1)", async () => {
    const error = Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    });
    const lambda = { send: jest.fn(() => Promise.reject(error)) } as unknown as Lambda;
    const { code, output } = await runDemo(["steps", "--cloud", "--function", functionArn], {
      lambda: () => lambda,
    });
    expect(output).toMatch(/No AWS credentials found/);
    expect(output).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
  });

  it("names executions with the pattern and the time (a valid DurableExecutionName)", () => {
    expect(executionNameFor("wait-callback", new Date("2026-11-22T19:53:08.143Z"))).toBe(
      "demo-wait-callback-20261122195308",
    );
  });
});
