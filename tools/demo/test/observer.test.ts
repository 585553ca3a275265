import { createRetryStrategy, JitterStrategy, withDurableExecution } from "@aws/durable-execution-sdk-js";
import { LocalDurableTestRunner, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { RunObserver } from "../src/observer";
import { renderEvent, type TimelineEvent } from "../src/timeline";

beforeAll(() => LocalDurableTestRunner.setupTestEnvironment({ skipTime: true }));
afterAll(() => LocalDurableTestRunner.teardownTestEnvironment());

it("turns a run's checkpoints into a timeline: retries, waits, callbacks, invocations", async () => {
  let calls = 0;
  const handler = withDurableExecution(async (_event: unknown, context) => {
    await context.step(
      "flaky-call",
      async () => {
        calls += 1;
        if (calls === 1) throw new Error("503 busy");
        return "ok";
      },
      {
        retryStrategy: createRetryStrategy({
          maxAttempts: 2,
          initialDelay: { seconds: 2 },
          jitter: JitterStrategy.NONE,
        }),
      },
    );
    await context.wait("cool-off", { days: 3 });
    return context.waitForCallback("approval", async () => undefined, { timeout: { hours: 1 } });
  });
  const events: TimelineEvent[] = [];
  const observer = new RunObserver((event) => events.push(event));
  const runner = new LocalDurableTestRunner({ handlerFunction: observer.wrap(handler) });

  const execution = runner.run({ payload: {} });
  const approval = runner.getOperation("approval");
  await approval.waitForData(WaitingOperationStatus.SUBMITTED);
  await approval.sendCallbackSuccess('"yes"');
  const result = await execution;

  expect(result.getStatus()).toBe("SUCCEEDED");
  const lines = events.map((event) => renderEvent(event, events[0]!.at));
  const find = (pattern: RegExp) => lines.find((line) => pattern.test(line));
  expect(find(/flaky-call .*↻ retrying: attempt 1 failed \(503 busy\), next attempt in 2s/)).toBeDefined();
  expect(find(/flaky-call .*✓ succeeded: attempt 2/)).toBeDefined();
  expect(find(/cool-off .*wait .*started: waiting 3d/)).toBeDefined();
  expect(find(/approval .*wait for callback/)).toBeDefined();
  expect(find(/\(callback\) .*started: waiting for a callback \(times out after 1h\)/)).toBeDefined();
  expect(find(/\(callback\) .*succeeded: callback answered/)).toBeDefined();
  // Invocation boundaries come from the wrapped handler and match the runner's own count.
  const starts = events.filter((event) => event.kind === "invocation-start");
  expect(starts).toHaveLength(result.getInvocations().length);
  expect(observer.invocations).toBe(result.getInvocations().length);
  expect(observer.retries).toBe(1);
  // A callback answered from outside means the function suspended and a later invocation replayed.
  expect(starts.length).toBeGreaterThanOrEqual(2);
  expect(starts.at(-1)).toMatchObject({ replaying: expect.any(Number) as number });
});
