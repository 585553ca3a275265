import {
  OperationStatus,
  WaitingOperationStatus,
  type LocalDurableTestRunner,
} from "@aws/durable-execution-sdk-js-testing";
import type { RunObserver } from "./observer";
import type { LocalRunOutcome } from "./run-local";
import type { DemoDoor, DemoExecutionView } from "./scenario";

/**
 * The door a scenario's front door drives, onto the local run's one execution: it starts when the front door
 * first asks, a start again with the same name and input finds it (another input is a conflict, as Lambda
 * answers), a callback is completed once by its id, and whatever the front door shows joins the timeline at the
 * current virtual time, between the operations it causes.
 */
export class LocalDoor implements DemoDoor {
  /** The run, once started; it settles with the run's outcome (its end already on the timeline). */
  execution?: Promise<LocalRunOutcome>;
  private started?: { name: string; input: string };
  private outcome?: LocalRunOutcome;
  private readonly completed = new Set<string>();

  constructor(
    private readonly runner: LocalDurableTestRunner<unknown>,
    private readonly observer: RunObserver,
    readonly event: unknown,
    private readonly run: (payload: unknown) => Promise<LocalRunOutcome>,
  ) {}

  async start(name: string, input: unknown): Promise<"started" | "already-started" | "conflict"> {
    if (this.started) {
      if (this.started.name !== name)
        throw new Error(
          `The local demo runs one execution (${this.started.name}); its front door asked for another (${name})`,
        );
      return this.started.input === canonicalJson(input) ? "already-started" : "conflict";
    }
    this.started = { name, input: canonicalJson(input) };
    this.execution = this.run(input).then((outcome) => (this.outcome = outcome));
    return "started";
  }

  async describe(name: string): Promise<DemoExecutionView | undefined> {
    if (this.started?.name !== name) return undefined;
    if (!this.outcome) return { name, status: "RUNNING" };
    const view: DemoExecutionView = {
      name,
      status: this.outcome.summary.status as DemoExecutionView["status"],
    };
    if (this.outcome.result !== undefined) view.result = this.outcome.result;
    if (this.outcome.error) view.error = this.outcome.error;
    return view;
  }

  async completeCallback(
    callbackId: string,
    result: string,
  ): Promise<"completed" | "already-closed" | "not-found"> {
    const operationId = this.observer.callbackOperation(callbackId);
    if (!this.execution || operationId === undefined) return "not-found";
    const operation = this.runner.getOperationById(operationId);
    // Once only, as the service allows: a repeat is told apart here, not by trying again.
    if (this.completed.has(callbackId) || this.outcome || operation.getStatus() !== OperationStatus.STARTED)
      return "already-closed";
    this.completed.add(callbackId);
    await operation.sendCallbackSuccess(result);
    return "completed";
  }

  async reached(operation: string, status: "STARTED" | "SUBMITTED" | "COMPLETED"): Promise<void> {
    if (!this.execution) throw notStarted(`wait for ${operation}`);
    // The local runner rejects the wait itself when the execution ends without reaching the operation.
    await this.runner.getOperation(operation).waitForData(WaitingOperationStatus[status]);
  }

  async ended(): Promise<void> {
    if (!this.execution) throw notStarted("wait for its end");
    await this.execution;
  }

  show(who: string, what: string): void {
    this.observer.push({ kind: "actor", at: this.observer.now(), role: who, action: what });
  }
}

const notStarted = (purpose: string) =>
  new Error(`The front door cannot ${purpose}: no execution has started`);

/** The same JSON value gives the same text, whatever its key order: how a repeat is told from a conflict. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
