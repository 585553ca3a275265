import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  GetDurableExecutionHistoryCommand,
  ListDurableExecutionsByFunctionCommand,
  type Event,
} from "@aws-sdk/client-lambda";
import type { Lambda } from "../src/aws";
import { doctor, parseDoctorArgs, DoctorUsageError } from "../src/doctor/cli";
import { diagnose, type Verdict } from "../src/doctor/diagnose";
import { historyToTimeline } from "../src/history";
import { toExecutionView } from "../src/spans";
import { fixturePath, loadFixture, shortlyAfter } from "./helpers/fixtures";

function diagnoseFixture(name: string, now?: Date) {
  const events = loadFixture(name);
  return diagnose(toExecutionView(historyToTimeline(events)), now ?? shortlyAfter(events, 1000));
}

async function runDoctor(argv: string[], options: { now?: Date; lambda?: Lambda } = {}) {
  const lines: string[] = [];
  const code = await doctor(argv, {
    out: (line) => lines.push(line),
    now: () => options.now ?? new Date("2026-11-22T20:00:00Z"),
    cwd: process.cwd(),
    ...(options.lambda ? { lambda: () => options.lambda! } : {}),
  });
  return { code, output: lines.join("\n") };
}

describe("each recorded history gets the right diagnosis", () => {
  it.each<[string, Verdict, RegExp]>([
    ["succeeded", "succeeded", /^Succeeded in \d+ms over 3 invocations\.$/],
    [
      "failed-after-retries",
      "failed",
      /^Failed in \d+ms: step reserve-stock failed after 4 attempts: TransientServiceError: inventory is unavailable \(503\)\.$/,
    ],
    [
      "retrying-step",
      "retrying-step",
      /^Step reserve-stock failed attempt 1 \(TransientServiceError: inventory is unavailable \(503\)\) and runs attempt 2 in \d+ms \(\S+\)\.$/,
    ],
    [
      "waiting-on-timer",
      "waiting-on-timer",
      /^Sleeping in wait wait-before-review-request until \S+ \(in 2d 23h\)\.$/,
    ],
    [
      "waiting-on-callback",
      "waiting-on-callback",
      /^Waiting on callback approve-refund-order-1042 \(callback\) since 1s ago; it times out in \d+ms \(\S+\)\.$/,
    ],
    [
      "callback-timed-out",
      "succeeded",
      /Along the way: approve-refund-order-1042 \(callback\) timed out and was handled\.$/,
    ],
    [
      "escalated-after-heartbeat-timeout",
      "succeeded",
      /Along the way: ask-manager \(callback\) timed out and was handled\.$/,
    ],
    ["approved-by-callback", "succeeded", /^Succeeded/],
  ])("%s → %s", (name, verdict, summary) => {
    const diagnosis = diagnoseFixture(name);
    expect(diagnosis.verdict).toBe(verdict);
    expect(diagnosis.summary).toMatch(summary);
    expect(diagnosis.nextStep.length).toBeGreaterThan(10);
  });

  it("lists what is unfinished, what failed and the slowest operations", () => {
    const waiting = diagnoseFixture("waiting-on-callback");
    expect(waiting.unfinished.map((span) => span.status)).toEqual(["STARTED", "STARTED", "STARTED"]);
    expect(waiting.callbacks).toHaveLength(1);
    expect(waiting.callbacks[0]!.timesOutAt!.getTime() - waiting.callbacks[0]!.since.getTime()).toBe(2000);
    expect(waiting.slowest[0]!.ref.type).toBe("CALLBACK");

    const failed = diagnoseFixture("failed-after-retries");
    expect(failed.failures.map((span) => [span.ref.name, span.attempts])).toEqual([["reserve-stock", 4]]);
  });

  it("calls a callback whose timeout passed long ago overdue: the history is stale", () => {
    const events = loadFixture("waiting-on-callback");
    expect(diagnoseFixture("waiting-on-callback", shortlyAfter(events, 10 * 60_000)).verdict).toBe(
      "callback-overdue",
    );
    expect(diagnoseFixture("waiting-on-timer", new Date(Date.parse("2026-12-30T00:00:00Z"))).verdict).toBe(
      "timer-overdue",
    );
  });
});

describe("pnpm doctor <history.json>", () => {
  it("prints the timeline, the callback's full id with the commands to answer it, and the diagnosis last", async () => {
    const events = loadFixture("waiting-on-callback");
    const { code, output } = await runDoctor([fixturePath("waiting-on-callback")], {
      now: shortlyAfter(events, 1000),
    });
    expect(code).toBe(0);
    const callbackId = events.find((event) => event.EventType === "CallbackStarted")!.CallbackStartedDetails!
      .CallbackId!;
    expect(output).toContain("Timeline\n  +0ms      ▶ invocation 1");
    expect(output).toContain("a bearer token");
    expect(output).toContain(
      `aws lambda send-durable-execution-callback-success --callback-id '${callbackId}' --cli-binary-format raw-in-base64-out --result '<the JSON the waiting step expects>'`,
    );
    expect(output).toContain(
      `aws lambda send-durable-execution-callback-failure --callback-id '${callbackId}' --error '{"ErrorType":"Rejected",`,
    );
    expect(output).toMatch(/Times out at \S+ \(in \d+ms\)/);
    expect(output).toMatch(/Not finished[^\n]*\n {2}tool-issue-refund-turn-3 +child context +STARTED/);
    expect(output.split("\n").slice(-2)[0]).toMatch(
      /^Diagnosis: Waiting on callback approve-refund-order-1042/,
    );
  });

  it("shows failed operations with their errors and attempts", async () => {
    const { code, output } = await runDoctor([fixturePath("failed-after-retries")]);
    expect(code).toBe(0);
    expect(output).toMatch(
      /Failed operations\n {2}reserve-stock +step +FAILED after 4 attempts: TransientServiceError: inventory is unavailable \(503\)/,
    );
    expect(output).toMatch(/Slowest operations\n {2}1\. reserve-stock +step +\d+ms/);
  });

  it.each([
    ["truncated JSON", (text: string) => text.slice(0, text.length / 2), /looks truncated/],
    ["not JSON", () => "Events: none", /is not valid JSON/],
    ["no Events", () => '{"events": []}', /has no "Events" array/],
    [
      "an event without a type",
      () => '{"Events": [{"EventTimestamp": "2026-01-01T00:00:00Z"}]}',
      /Events\[0\] has no EventType/,
    ],
    [
      "a bad timestamp",
      () => '{"Events": [{"EventType": "ExecutionStarted", "EventTimestamp": "yesterday"}]}',
      /is not a timestamp/,
    ],
    [
      "one page of several",
      (text: string) => text.replace(/}\s*$/, ', "NextMarker": "abc"}'),
      /one page of a longer history/,
    ],
    ["an empty file", () => "", /is empty/],
  ])("%s is a clear error, exit 2", async (_label, mangle, message) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "doctor-")), "history.json");
    writeFileSync(file, mangle(readFileSync(fixturePath("succeeded"), "utf8")));
    const { code, output } = await runDoctor([file]);
    expect(output).toMatch(message);
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
    expect(code).toBe(2);
  });

  it("reads a bare array of events and epoch-second timestamps", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "doctor-")), "history.json");
    const events = JSON.parse(readFileSync(fixturePath("succeeded"), "utf8")) as {
      Events: { EventTimestamp: string }[];
    };
    writeFileSync(
      file,
      JSON.stringify(
        events.Events.map((event) => ({ ...event, EventTimestamp: Date.parse(event.EventTimestamp) / 1000 })),
      ),
    );
    const { code, output } = await runDoctor([file]);
    expect(code).toBe(0);
    expect(output).toContain("Diagnosis: Succeeded");
  });

  it.each([
    [[]],
    [["a.json", "b.json"]],
    [["--function", "fn:live"]],
    [["a.json", "--execution", "arn:x"]],
    [["--html"]],
    [["--bogus"]],
  ])("rejects %j", (argv) => {
    expect(() => parseDoctorArgs(argv)).toThrow(DoctorUsageError);
  });

  it("writes the HTML timeline with --html", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "doctor-")), "out", "timeline.html");
    const { code, output } = await runDoctor([fixturePath("failed-after-retries"), "--html", file]);
    expect(code).toBe(0);
    expect(output).toContain(`Timeline page: ${file}`);
    expect(readFileSync(file, "utf8")).toContain('data-name="reserve-stock" data-status="FAILED"');
  });
});

describe("pnpm doctor --execution (live, against a stubbed Lambda client)", () => {
  const arn =
    "arn:aws:lambda:eu-west-1:123456789012:function:DurableCookbook-dev-StepsHandler:7/durable-execution/demo-steps-1/5f0c";

  /** Serves the history in pages of `pageSize`, as GetDurableExecutionHistory does, and records every call. */
  function stubLambda(events: Event[], pageSize = 5) {
    const calls: unknown[] = [];
    const send = jest.fn((command: unknown) => {
      calls.push(command);
      if (command instanceof GetDurableExecutionHistoryCommand) {
        const from = Number(command.input.Marker ?? 0);
        const next = from + pageSize;
        return Promise.resolve({
          Events: events.slice(from, next),
          NextMarker: next < events.length ? String(next) : undefined,
        });
      }
      if (command instanceof ListDurableExecutionsByFunctionCommand) {
        return Promise.resolve({
          DurableExecutions: [{ DurableExecutionName: "demo-steps-1", DurableExecutionArn: arn }],
        });
      }
      return Promise.reject(new Error("unexpected command"));
    });
    return { lambda: { send } as unknown as Lambda, calls };
  }

  it("follows NextMarker through every page and diagnoses the whole history", async () => {
    const events = loadFixture("failed-after-retries");
    const { lambda, calls } = stubLambda(events, 5);
    const { code, output } = await runDoctor(["--execution", arn], { lambda });
    expect(code).toBe(0);
    const markers = calls.map((command) => (command as GetDurableExecutionHistoryCommand).input.Marker);
    expect(markers).toEqual([undefined, "5", "10"]);
    expect((calls[0] as GetDurableExecutionHistoryCommand).input).toMatchObject({
      DurableExecutionArn: arn,
      IncludeExecutionData: true,
    });
    expect(output).toContain("Diagnosis: Failed");
  });

  it("looks an execution name up on --function NAME:ALIAS and puts the Region in the commands", async () => {
    const events = loadFixture("waiting-on-callback");
    const { lambda, calls } = stubLambda(events, 100);
    const { code, output } = await runDoctor(
      ["--function", "DurableCookbook-dev-StepsHandler:live", "--execution", "demo-steps-1"],
      {
        lambda,
        now: shortlyAfter(events, 1000),
      },
    );
    expect(code).toBe(0);
    expect((calls[0] as ListDurableExecutionsByFunctionCommand).input).toEqual({
      FunctionName: "DurableCookbook-dev-StepsHandler",
      Qualifier: "live",
      DurableExecutionName: "demo-steps-1",
    });
    expect(output).toContain(
      "aws lambda send-durable-execution-callback-success --region eu-west-1 --callback-id",
    );
  });

  it.each([
    [
      Object.assign(new Error("Could not load credentials from any providers"), {
        name: "CredentialsProviderError",
      }),
      /^No AWS credentials found/,
    ],
    [new Error("Region is missing"), /^No AWS Region set/],
    [
      Object.assign(new Error("Function not found"), { name: "ResourceNotFoundException" }),
      /^Not found: Function not found/,
    ],
  ])("explains %s without a stack trace (exit 1)", async (error, message) => {
    const lambda = { send: jest.fn(() => Promise.reject(error)) } as unknown as Lambda;
    const { code, output } = await runDoctor(["--execution", arn], { lambda });
    expect(output).toMatch(message);
    expect(output).not.toMatch(/\n\s+at /);
    expect(code).toBe(1);
  });
});
