import { historyToTimeline } from "../src/history";
import { toExecutionView } from "../src/spans";
import { TimelinePrinter, type TimelineEvent } from "../src/timeline";
import { loadFixture } from "./helpers/fixtures";

const lines = (events: TimelineEvent[]) => TimelinePrinter.render(events);

describe("a history becomes the same timeline the local demo prints", () => {
  it("succeeded: a retry, suspensions, replays, a child context and a wait", () => {
    const timeline = historyToTimeline(loadFixture("succeeded"));
    const text = lines(timeline);
    expect(text[0]).toMatch(/^\+0ms\s+▶ invocation 1$/);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /reserve-stock\s+step\s+↻ retrying: attempt 1 failed \(inventory is unavailable \(503\)\), next attempt in 1s$/,
        ),
        expect.stringMatching(/⏸ invocation 1 suspended/),
        expect.stringMatching(
          /▶ invocation 2: the handler runs again from the top and replays 1 checkpointed operation$/,
        ),
        expect.stringMatching(/reserve-stock\s+step\s+✓ succeeded: attempt 2/),
        expect.stringMatching(/wait-before-review-request\s+wait\s+· started: waiting 3d$/),
        expect.stringMatching(/wait-before-review-request\s+wait\s+✓ succeeded: timer fired \(took \d+ms\)$/),
        expect.stringMatching(/✔ execution SUCCEEDED$/),
      ]),
    );
    // Nested under ship-order: two levels of indentation after the 10-column clock.
    expect(text.find((line) => line.includes("create-shipment"))!.indexOf("create-shipment")).toBe(10 + 4);
    // Start and end of a step in adjacent events print as one line, as in the local demo.
    expect(text.filter((line) => line.includes("charge-payment"))).toHaveLength(1);
    expect(timeline.filter((event) => event.kind === "invocation-start")).toHaveLength(3);
    expect(timeline.at(-1)).toMatchObject({
      kind: "execution-end",
      status: "SUCCEEDED",
      result: { status: "FULFILLED" },
    });
  });

  it("failed after retries: each attempt, then the final failure and the execution's error", () => {
    const timeline = historyToTimeline(loadFixture("failed-after-retries"));
    const view = toExecutionView(timeline);
    const step = view.operations.find((span) => span.ref.name === "reserve-stock")!;
    expect(step).toMatchObject({
      status: "FAILED",
      attempts: 4,
      error: { type: "TransientServiceError", message: "inventory is unavailable (503)" },
    });
    expect(step.retries).toHaveLength(3);
    expect(view).toMatchObject({ status: "FAILED", error: { type: "StepError" } });
    expect(view.invocations.map((invocation) => invocation.status)).toEqual(["PENDING", "PENDING", "FAILED"]);
  });

  it("nests waitForCallback's callback under its context and keeps the callback's id and timeout", () => {
    const view = toExecutionView(historyToTimeline(loadFixture("waiting-on-callback")));
    const context = view.operations.find((span) => span.ref.name === "approve-refund-order-1042")!;
    const callback = view.operations.find((span) => span.ref.type === "CALLBACK")!;
    expect(callback.ref).toMatchObject({ parentId: context.ref.id, depth: context.ref.depth + 1 });
    expect(callback).toMatchObject({ status: "STARTED", timeoutSeconds: 2 });
    expect(callback.callbackId).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(view.status).toBe("RUNNING");
  });

  it("marks timed-out callbacks and heartbeat timeouts", () => {
    const text = lines(historyToTimeline(loadFixture("escalated-after-heartbeat-timeout")));
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /\(callback\)\s+callback\s+· started: waiting for a callback \(times out after 4s, heartbeat every 1s\)$/,
        ),
        expect.stringMatching(/\(callback\)\s+callback\s+⏱ timed-out: Callback timed out on heartbeat/),
        expect.stringMatching(
          /ask-manager\s+wait for callback\s+✗ failed: CallbackTimeoutError: Callback timed out on heartbeat/,
        ),
        expect.stringMatching(
          /poll-fulfilment\s+wait for condition\s+↻ retrying: attempt 1 asked to poll again/,
        ),
      ]),
    );
  });

  it("shows an invocation still in progress when the history stops inside one", () => {
    const timeline = historyToTimeline(loadFixture("waiting-on-timer"));
    const starts = timeline.filter((event) => event.kind === "invocation-start");
    const ends = timeline.filter((event) => event.kind === "invocation-end");
    expect(starts).toHaveLength(2);
    expect(ends).toHaveLength(1);
  });
});
