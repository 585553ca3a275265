import type { RetryDecision } from "@aws/durable-execution-sdk-js";
import { OutcomeInDoubtError, outcomeOfFailedStep } from "./call-outcome";

/**
 * The saga's list of undo actions, and the rule for when one is owed.
 *
 * A compensation is registered BEFORE the call it undoes, because that call's outcome can be in doubt: a
 * provider may act and every reply be lost, or the sandbox may die between the call and its checkpoint. Then
 * there is no result to hold a reservation id, and only a compensation already registered still knows how to
 * find what was done: by the forward call's idempotency key. So each compensation can undo by id (when the
 * forward step returned one) or by key (look the action up, undo what is found, and do nothing when nothing
 * is found). That makes it idempotent and harmless when nothing was done.
 *
 * After the call:
 * - done: the id is recorded (`settle`), the undo goes straight to it;
 * - not done (a definite refusal, on the step's first attempt): the compensation is withdrawn, nothing to undo;
 * - in doubt (a refusal on a retry included, and a success without an id): it stays, and undoes by key if the
 *   saga fails.
 *
 * The list lives in the handler body, not in a step. That is safe: a replay returns each step's checkpointed
 * result or error in the same order, so the same registrations, settlements and withdrawals happen again.
 */
export interface CompensationSpec {
  /** The step name the undo runs as: `cancel-flight`, `refund-payment`. */
  name: string;
  retryStrategy: (error: Error, attemptsMade: number) => RetryDecision;
  /** Look the forward action up by its idempotency key: what was done, or undefined when nothing was. */
  find: () => Promise<{ id: string; alreadyUndone: boolean } | undefined>;
  /** Undo the action with this id, with the compensation's own idempotency key. */
  undo: (id: string) => Promise<void>;
}

/** What one compensation step did, checkpointed as its result. */
export interface UndoResult {
  undid: string | null;
  note: string;
}

export class Compensation {
  private knownId: string | undefined;
  withdrawn = false;
  constructor(readonly spec: CompensationSpec) {}

  get name(): string {
    return this.spec.name;
  }

  /** The forward call was done: undo this id. */
  settle(id: string): void {
    this.knownId = id;
  }

  /** The forward call was definitely not done: nothing to undo. */
  withdraw(): void {
    this.withdrawn = true;
  }

  /**
   * Await a forward step: settle on success, withdraw on a definite refusal, and on anything in doubt keep
   * the compensation (it undoes by key). The step's error is rethrown either way.
   */
  async guard<T>(step: Promise<T>, idOf: (result: T) => string): Promise<T> {
    let result: T;
    try {
      result = await step;
    } catch (error) {
      if (outcomeOfFailedStep(error) === "not-done") this.withdraw();
      throw error;
    }
    const id: unknown = idOf(result);
    // A success that names nothing (a blank id from a custom provider) cannot be undone by id: the provider may
    // hold something, so it is in doubt, and the compensation undoes by key.
    if (typeof id !== "string" || id.trim() === "") {
      throw new OutcomeInDoubtError(`${this.name}: the forward call succeeded without an id to undo`);
    }
    this.settle(id);
    return result;
  }

  /** The step body: by id when known, else by key. Runs inside `context.step`. */
  readonly run = async (): Promise<UndoResult> => {
    if (this.knownId !== undefined) {
      await this.spec.undo(this.knownId);
      return { undid: this.knownId, note: `undid ${this.knownId}` };
    }
    const found = await this.spec.find();
    if (!found) return { undid: null, note: "nothing was done under its key" };
    if (found.alreadyUndone) return { undid: null, note: `${found.id} was already undone` };
    await this.spec.undo(found.id);
    return { undid: found.id, note: `found ${found.id} by its key and undid it` };
  };
}

export class Compensations {
  private readonly registered: Compensation[] = [];

  register(spec: CompensationSpec): Compensation {
    const compensation = new Compensation(spec);
    this.registered.push(compensation);
    return compensation;
  }

  /** What is still owed, newest first: the order to undo in. */
  owed(): Compensation[] {
    return this.registered.filter((compensation) => !compensation.withdrawn).reverse();
  }
}
