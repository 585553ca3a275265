import {
  InvokeCommand,
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
  type Event,
} from "@aws-sdk/client-lambda";
import { AwsProblem, call, fetchHistory, type Lambda } from "./aws";
import { diagnose } from "./doctor/diagnose";
import { historyToTimeline } from "./history";
import { describeReply, type DemoActor, type DemoReply, type DemoScenario } from "./scenario";
import { toExecutionView } from "./spans";
import type { TimelineEvent } from "./timeline";

export interface CloudRunOptions {
  lambda: Lambda;
  /** The qualified function (the `live` alias ARN) to start. */
  functionArn: string;
  /** The idempotency key: starting twice with the same name is the same execution. */
  executionName: string;
  pollMs?: number;
  /** Leave (the execution carries on) after this long without news and with nothing for the actors to do. */
  idleLimitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export interface CloudRunOutcome {
  executionArn: string;
  /** SUCCEEDED, FAILED, TIMED_OUT, STOPPED, or RUNNING when we left it running. */
  status: string;
  events: TimelineEvent[];
  history: Event[];
  result?: unknown;
  error?: { type?: string; message?: string };
  /** Why we stopped watching a running execution. */
  leftRunning?: string;
}

/**
 * Runs a scenario against the deployed function: starts it asynchronously (InvocationType Event, with a
 * durable execution name as the idempotency key), polls its history, prints the timeline as invocations
 * complete, and plays the scenario's actors by sending real callbacks once the workflow asks for them.
 */
export async function runInCloud(
  scenario: DemoScenario,
  event: unknown,
  options: CloudRunOptions,
  emit: (event: TimelineEvent) => void,
): Promise<CloudRunOutcome> {
  const { lambda, pollMs = 2000, idleLimitMs = 60_000, sleep = delay, now = () => new Date() } = options;
  const started = await call(() =>
    lambda.send(
      new InvokeCommand({
        FunctionName: options.functionArn,
        InvocationType: "Event",
        DurableExecutionName: options.executionName,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    ),
  );
  const executionArn = started.DurableExecutionArn;
  if (!executionArn)
    throw new AwsProblem(
      `${options.functionArn} did not start a durable execution (no DurableExecutionArn): is it a durable function, invoked through its alias?`,
    );

  const printed = new Set<string>();
  const actors = (scenario.actors ?? []).map((actor) => ({ actor, replied: 0 }));
  const actorEvents: TimelineEvent[] = [];
  let lastNews = now().getTime();
  let seen = 0;
  for (;;) {
    const history = await fetchHistory(lambda, executionArn);
    if (history.length > seen) lastNews = now().getTime();
    seen = history.length;
    const timeline = merge(historyToTimeline(history), actorEvents);
    const ended = timeline.find((e) => e.kind === "execution-end");
    // Print what completed invocations (or the end) settled; an invocation still running may reorder.
    const settled = ended ? Infinity : lastInvocationEnd(history);
    for (const timelineEvent of timeline) {
      const key = keyOf(timelineEvent);
      if (timelineEvent.at.getTime() <= settled && !printed.has(key)) {
        printed.add(key);
        emit(timelineEvent);
      }
    }
    if (ended?.kind === "execution-end") {
      const outcome: CloudRunOutcome = { executionArn, status: ended.status, events: timeline, history };
      if (ended.result !== undefined) outcome.result = ended.result;
      if (ended.error) outcome.error = ended.error;
      return outcome;
    }

    let acted = false;
    for (const entry of actors) {
      const callbackId =
        entry.replied < entry.actor.replies.length ? readyCallback(history, entry.actor) : undefined;
      if (!callbackId) continue;
      for (const reply of entry.actor.replies.slice(entry.replied)) {
        const actorEvent: TimelineEvent = {
          kind: "actor",
          at: now(),
          role: entry.actor.role,
          action: describeReply(reply, entry.actor.operation),
        };
        actorEvents.push(actorEvent);
        printed.add(keyOf(actorEvent));
        emit(actorEvent);
        await sendReply(lambda, callbackId, reply);
        entry.replied += 1;
      }
      acted = true;
    }
    if (acted) lastNews = now().getTime();
    if (!acted && now().getTime() - lastNews > idleLimitMs) {
      const diagnosis = diagnose(toExecutionView(timeline), now());
      return { executionArn, status: "RUNNING", events: timeline, history, leftRunning: diagnosis.summary };
    }
    await sleep(pollMs);
  }
}

/** The callback an actor answers, once the workflow is ready for the answer; undefined until then. */
export function readyCallback(history: Event[], actor: DemoActor): string | undefined {
  if (actor.afterOperation && !history.some((event) => event.Name === actor.afterOperation)) return undefined;
  const names = new Map(
    history.filter((event) => event.Id && event.Name).map((event) => [event.Id!, event.Name!]),
  );
  // createCallback names the CALLBACK itself; waitForCallback names its CONTEXT and the callback is its child.
  const starts = history.filter(
    (event) =>
      event.EventType === "CallbackStarted" &&
      (event.Name === actor.operation || (event.ParentId && names.get(event.ParentId) === actor.operation)),
  );
  const start = starts[actor.occurrence ?? 0];
  const callbackId = start?.CallbackStartedDetails?.CallbackId;
  if (!start || !callbackId) return undefined;
  if ((actor.waitFor ?? "SUBMITTED") === "SUBMITTED" && start.ParentId) {
    // waitForCallback: the submitter (a step next to the callback) must have handed the id over first.
    const submitted = history.some(
      (event) => event.ParentId === start.ParentId && event.EventType === "StepSucceeded",
    );
    const isWaitForCallback = names.get(start.ParentId) === actor.operation;
    if (isWaitForCallback && !submitted) return undefined;
  }
  return callbackId;
}

function sendReply(lambda: Lambda, callbackId: string, reply: DemoReply) {
  if ("heartbeat" in reply)
    return call(() =>
      lambda.send(new SendDurableExecutionCallbackHeartbeatCommand({ CallbackId: callbackId })),
    );
  if ("fail" in reply) {
    const error = { ErrorMessage: reply.fail.message, ErrorType: reply.fail.type ?? "Rejected" };
    return call(() =>
      lambda.send(new SendDurableExecutionCallbackFailureCommand({ CallbackId: callbackId, Error: error })),
    );
  }
  const result = typeof reply.succeed === "string" ? reply.succeed : JSON.stringify(reply.succeed);
  return call(() =>
    lambda.send(
      new SendDurableExecutionCallbackSuccessCommand({
        CallbackId: callbackId,
        Result: new TextEncoder().encode(result),
      }),
    ),
  );
}

function lastInvocationEnd(history: Event[]): number {
  const ends = history
    .filter((e) => e.EventType === "InvocationCompleted")
    .map((e) => e.InvocationCompletedDetails?.EndTimestamp?.getTime() ?? 0);
  return ends.length > 0 ? Math.max(...ends) : -Infinity;
}

function merge(timeline: TimelineEvent[], actorEvents: TimelineEvent[]): TimelineEvent[] {
  return [...timeline, ...actorEvents].sort((a, b) => a.at.getTime() - b.at.getTime());
}

function keyOf(event: TimelineEvent): string {
  const subject =
    event.kind === "operation"
      ? `${event.operation.id}:${event.change}`
      : event.kind === "actor"
        ? event.action
        : event.kind === "execution-end"
          ? event.status
          : String(event.invocation);
  return `${event.kind}:${subject}:${event.at.getTime()}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A valid DurableExecutionName (letters, digits, - and _, at most 64): the pattern and the start time. */
export function executionNameFor(pattern: string, at: Date): string {
  return `demo-${pattern}-${at
    .toISOString()
    .replace(/[^0-9]/g, "")
    .slice(0, 14)}`
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 64);
}
