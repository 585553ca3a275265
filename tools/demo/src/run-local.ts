import type { Event } from "@aws-sdk/client-lambda";
import {
  LocalDurableTestRunner,
  WaitingOperationStatus,
  type DurableOperation,
  type TestResult,
} from "@aws/durable-execution-sdk-js-testing";
import { LocalDoor } from "./local-door";
import { RunObserver } from "./observer";
import { describeReply, type DemoActor, type DemoReply, type DemoScenario } from "./scenario";
import type { TimelineEvent, TimelineSummary } from "./timeline";

// Time skipping fakes Date and performance; keep a real clock for the wall time.
const realNow = performance.now.bind(performance);

export interface LocalRunOutcome {
  summary: TimelineSummary;
  events: TimelineEvent[];
  /** The runner's history, in the shape of GetDurableExecutionHistory's Events (real timestamps, not virtual). */
  history: Event[];
  result?: unknown;
  error?: { type?: string; message?: string };
}

/**
 * Runs a scenario through LocalDurableTestRunner with time skipping: no AWS account, a 3-day wait takes
 * milliseconds, and the virtual clock (Date) moves as it would have. Actors answer callbacks the way the
 * outside world would, once the workflow has asked. A scenario with a front door starts the execution itself,
 * through the door it is handed (see DemoDoor), and what it shows joins the timeline.
 */
export async function runLocally(
  scenario: DemoScenario,
  event: unknown,
  emit: (event: TimelineEvent) => void,
): Promise<LocalRunOutcome> {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: true });
  try {
    const observer = new RunObserver(emit);
    const runner = new LocalDurableTestRunner({ handlerFunction: observer.wrap(scenario.createHandler()) });
    for (const [functionId, create] of Object.entries(scenario.durableFunctions ?? {})) {
      runner.registerDurableFunction(functionId, create());
    }
    const startedAt = observer.now();
    const wallStart = realNow();
    const summarize = (result: TestResult<unknown>): LocalRunOutcome => {
      const status = result.getStatus() ?? "UNKNOWN";
      const outcome: LocalRunOutcome = {
        events: observer.events,
        history: result.getHistoryEvents(),
        summary: {
          status,
          operations: result.getOperations().length,
          invocations: result.getInvocations().length,
          retries: observer.retries,
          virtualElapsedMs: observer.now().getTime() - startedAt.getTime(),
          wallMs: realNow() - wallStart,
        },
      };
      if (status === "SUCCEEDED") {
        outcome.result = result.getResult();
        observer.push({ kind: "execution-end", at: observer.now(), status, result: outcome.result });
      } else {
        const error = result.getError();
        outcome.error = { type: error.errorType, message: error.errorMessage };
        observer.push({ kind: "execution-end", at: observer.now(), status, error: outcome.error });
      }
      return outcome;
    };
    const start = (payload: unknown) => {
      const execution = runner.run({ payload }).then(summarize);
      // Actors run alongside; one that waits for an operation the run never reaches is simply abandoned.
      for (const actor of scenario.actors ?? [])
        void playActor(runner, actor, observer).catch(() => undefined);
      return execution;
    };
    if (!scenario.frontDoor) return await start(event);

    // The front door starts the execution when its client asks, and its lines join the timeline.
    const door = new LocalDoor(runner, observer, event, start);
    try {
      await scenario.frontDoor(door);
    } catch (error) {
      // The run is left behind with the runner's environment; its own end no longer matters.
      void door.execution?.catch(() => undefined);
      throw error;
    }
    return (
      (await door.execution) ?? {
        events: observer.events,
        history: [],
        summary: {
          status: "NOT_STARTED",
          operations: 0,
          invocations: 0,
          retries: 0,
          virtualElapsedMs: observer.now().getTime() - startedAt.getTime(),
          wallMs: realNow() - wallStart,
        },
        error: { type: "NotStarted", message: "the front door started no execution (see its answers above)" },
      }
    );
  } finally {
    await LocalDurableTestRunner.teardownTestEnvironment();
  }
}

async function playActor(
  runner: LocalDurableTestRunner,
  actor: DemoActor,
  observer: RunObserver,
): Promise<void> {
  if (actor.afterOperation) {
    await runner.getOperation(actor.afterOperation).waitForData(WaitingOperationStatus.STARTED);
  }
  const operation = runner.getOperation(actor.operation, actor.occurrence ?? 0);
  await operation.waitForData(
    actor.waitFor === "STARTED" ? WaitingOperationStatus.STARTED : WaitingOperationStatus.SUBMITTED,
  );
  for (const reply of actor.replies) {
    observer.push({
      kind: "actor",
      at: observer.now(),
      role: actor.role,
      action: describeReply(reply, actor.operation),
    });
    await sendReply(operation, reply);
  }
}

function sendReply(operation: DurableOperation, reply: DemoReply) {
  if ("heartbeat" in reply) return operation.sendCallbackHeartbeat();
  if ("fail" in reply) {
    return operation.sendCallbackFailure({
      ErrorMessage: reply.fail.message,
      ErrorType: reply.fail.type ?? "Rejected",
    });
  }
  return operation.sendCallbackSuccess(
    typeof reply.succeed === "string" ? reply.succeed : JSON.stringify(reply.succeed),
  );
}
