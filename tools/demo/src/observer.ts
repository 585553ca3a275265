import {
  DurableExecutionInvocationInputWithClient,
  type DurableExecutionInvocationInput,
  type DurableLambdaHandler,
  type OperationUpdate,
  type WireOperation,
} from "@aws/durable-execution-sdk-js";
import type { OperationChange, OperationRef, TimelineEvent } from "./timeline";
import { errorText as formatError, formatSeconds } from "./timeline";

/**
 * Watches a local run as it happens. The local runner hands every invocation a client for the checkpoint
 * API; we give the handler a wrapped client instead, so each checkpoint the SDK writes (START, SUCCEED,
 * FAIL, RETRY) and each state the service sends back (a wait elapsed, a callback answered) becomes a
 * TimelineEvent at the current virtual time. The pattern's code is untouched.
 */
export class RunObserver {
  readonly events: TimelineEvent[] = [];
  retries = 0;
  invocations = 0;
  private readonly operations = new Map<string, { ref: OperationRef; status?: string; attempt: number }>();
  /**
   * The virtual clock. Time skipping fakes Date, but a timer that completes inside the same invocation
   * (a short wait, a poll, a retry delay) does not always move it; so when a timer is seen to fire, the
   * clock is moved on to at least its due time, and stays there.
   */
  private skewMs = 0;
  private readonly timersDue = new Map<string, number>();
  /** Callback id to operation id, as the service hands them out; never printed (the ids are bearer tokens). */
  private readonly callbacks = new Map<string, string>();

  now(): Date {
    return new Date(Date.now() + this.skewMs);
  }

  constructor(private readonly emit: (event: TimelineEvent) => void = () => undefined) {}

  wrap(handler: DurableLambdaHandler): DurableLambdaHandler {
    return async (input, lambdaContext) => {
      const invocation = ++this.invocations;
      const initial = input.InitialExecutionState?.Operations ?? [];
      const replaying = initial.filter((operation) => operation.Type !== "EXECUTION").length;
      this.push({ kind: "invocation-start", at: this.now(), invocation, replaying });
      this.noteState(initial);
      const output = await handler(this.observe(input), lambdaContext);
      const error = "Error" in output ? output.Error?.ErrorMessage : undefined;
      this.push({ kind: "invocation-end", at: this.now(), invocation, status: String(output.Status), error });
      return output;
    };
  }

  private observe(input: DurableExecutionInvocationInput): DurableExecutionInvocationInput {
    const client = (input as DurableExecutionInvocationInputWithClient).durableExecutionClient;
    if (!client) return input;
    return new DurableExecutionInvocationInputWithClient(input, {
      getExecutionState: async (request, logger) => {
        const response = await client.getExecutionState(request, logger);
        this.noteState(response.Operations ?? []);
        return response;
      },
      checkpoint: async (request, logger) => {
        const response = await client.checkpoint(request, logger);
        this.noteUpdates(request.Updates ?? []);
        this.noteState(response.NewExecutionState?.Operations ?? []);
        return response;
      },
    });
  }

  /** What the handler itself checkpointed. A START and its SUCCEED in one batch print as one line. */
  private noteUpdates(updates: OperationUpdate[]): void {
    const finishedInBatch = new Set(updates.filter((u) => u.Action !== "START").map((u) => u.Id));
    for (const update of updates) {
      if (!update.Id || !update.Type) continue;
      const known = this.track(update);
      if (update.Action !== "RETRY") this.timerFired(update.Id);
      switch (update.Action) {
        case "START":
          known.status = "STARTED";
          if (update.WaitOptions?.WaitSeconds !== undefined)
            this.timerSet(update.Id, update.WaitOptions.WaitSeconds);
          if (!finishedInBatch.has(update.Id)) this.change(known.ref, "started", startDetail(update));
          break;
        case "SUCCEED":
          known.status = "SUCCEEDED";
          this.change(known.ref, "succeeded", known.attempt > 1 ? `attempt ${known.attempt}` : undefined);
          break;
        case "FAIL":
          known.status = "FAILED";
          this.change(known.ref, "failed", errorText(update.Error, known.attempt));
          break;
        case "RETRY": {
          known.status = "PENDING";
          this.retries += 1;
          const delay = update.StepOptions?.NextAttemptDelaySeconds;
          if (delay !== undefined) this.timerSet(update.Id, delay);
          const why = update.Error
            ? `attempt ${known.attempt} failed (${update.Error.ErrorMessage ?? "error"})`
            : `attempt ${known.attempt} asked to poll again`;
          this.change(
            known.ref,
            "retrying",
            `${why}${delay !== undefined ? `, next attempt in ${formatSeconds(delay)}` : ""}`,
          );
          known.attempt += 1;
          break;
        }
        case "CANCEL":
          known.status = "CANCELLED";
          this.change(known.ref, "cancelled");
          break;
      }
    }
  }

  /** Changes made outside the handler: timers that fired, callbacks answered or timed out, invokes returned. */
  private noteState(operations: WireOperation[]): void {
    for (const operation of operations) {
      if (!operation.Id || !operation.Type || operation.Type === "EXECUTION" || !operation.Status) continue;
      const known = this.track(operation);
      const callbackId = operation.CallbackDetails?.CallbackId;
      if (callbackId) this.callbacks.set(callbackId, operation.Id);
      if (known.status === operation.Status) continue;
      const firstSight = known.status === undefined;
      known.status = operation.Status;
      if (operation.Status !== "STARTED" && operation.Status !== "PENDING") this.timerFired(operation.Id);
      // On first sight of an already-running operation (a replayed one), there is nothing new to say.
      if (firstSight && (operation.Status === "STARTED" || operation.Status === "SUCCEEDED")) continue;
      const change = STATUS_CHANGES[operation.Status];
      if (change) this.change(known.ref, change, outsideDetail(operation));
    }
  }

  /** The operation a callback id belongs to, once the service has handed the id out. */
  callbackOperation(callbackId: string): string | undefined {
    return this.callbacks.get(callbackId);
  }

  private track(record: { Id?: string; ParentId?: string; Name?: string; Type?: string; SubType?: string }) {
    const id = record.Id ?? "";
    let known = this.operations.get(id);
    if (!known) {
      const parentDepth = record.ParentId ? (this.operations.get(record.ParentId)?.ref.depth ?? 0) + 1 : 0;
      const ref: OperationRef = { id, type: record.Type ?? "UNKNOWN", depth: parentDepth };
      if (record.Name) ref.name = record.Name;
      if (record.SubType) ref.subType = record.SubType;
      if (record.ParentId) ref.parentId = record.ParentId;
      known = { ref, attempt: 1 };
      this.operations.set(id, known);
    }
    return known;
  }

  private timerSet(id: string, seconds: number): void {
    this.timersDue.set(id, this.now().getTime() + seconds * 1000);
  }

  private timerFired(id: string): void {
    const due = this.timersDue.get(id);
    if (due === undefined) return;
    this.timersDue.delete(id);
    this.skewMs += Math.max(0, due - this.now().getTime());
  }

  private change(operation: OperationRef, change: OperationChange, detail?: string): void {
    const at = this.now();
    this.push(
      detail === undefined
        ? { kind: "operation", at, operation, change }
        : { kind: "operation", at, operation, change, detail },
    );
  }

  push(event: TimelineEvent): void {
    this.events.push(event);
    this.emit(event);
  }
}

const STATUS_CHANGES: Partial<Record<string, OperationChange>> = {
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  TIMED_OUT: "timed-out",
  CANCELLED: "cancelled",
  STOPPED: "stopped",
  READY: "ready",
};

function startDetail(update: OperationUpdate): string | undefined {
  if (update.WaitOptions?.WaitSeconds !== undefined)
    return `waiting ${formatSeconds(update.WaitOptions.WaitSeconds)}`;
  if (update.CallbackOptions) {
    const { TimeoutSeconds: timeout, HeartbeatTimeoutSeconds: heartbeat } = update.CallbackOptions;
    const limits = [
      timeout ? `times out after ${formatSeconds(timeout)}` : "no timeout",
      heartbeat ? `heartbeat every ${formatSeconds(heartbeat)}` : undefined,
    ].filter(Boolean);
    return `waiting for a callback (${limits.join(", ")})`;
  }
  if (update.ChainedInvokeOptions?.FunctionName)
    return `invoking ${update.ChainedInvokeOptions.FunctionName}`;
  return undefined;
}

function outsideDetail(operation: WireOperation): string | undefined {
  if (operation.Type === "WAIT" && operation.Status === "SUCCEEDED") return "timer fired";
  if (operation.Type === "CALLBACK") {
    const error = operation.CallbackDetails?.Error;
    if (operation.Status === "SUCCEEDED") return "callback answered";
    if (error) return errorText(error);
  }
  if (operation.Type === "STEP" && operation.Status === "READY") return "retry timer fired";
  const error =
    operation.StepDetails?.Error ?? operation.ChainedInvokeDetails?.Error ?? operation.ContextDetails?.Error;
  return error ? errorText(error) : undefined;
}

function errorText(
  error: { ErrorType?: string; ErrorMessage?: string } | undefined,
  attempt?: number,
): string {
  return formatError({ type: error?.ErrorType, message: error?.ErrorMessage }, attempt);
}
