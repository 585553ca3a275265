import type { DurableLambdaHandler } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationStatus,
  type DurableOperation,
  type TestResult,
} from "@aws/durable-execution-sdk-js-testing";
import {
  canonicalJson,
  type CompleteResult,
  type ExecutionView,
  type Executions,
  type StartResult,
} from "./executions";

interface LocalRun {
  input: string;
  runner: LocalDurableTestRunner<unknown>;
  done: Promise<TestResult<unknown>>;
  result?: TestResult<unknown>;
}

/**
 * Executions backed by LocalDurableTestRunner, for the demo and the tests: one runner per execution name, so
 * the front door's handlers run unchanged against a real durable execution on this machine. It behaves as
 * Lambda does where the front door depends on it: a name starts once, a repeat with the same input finds it,
 * another input under the same name is a conflict, and a callback can be completed once.
 *
 * Call LocalDurableTestRunner.setupTestEnvironment() before using it (and teardown after), as for any run.
 */
export class LocalExecutions implements Executions {
  private readonly runs = new Map<string, LocalRun>();

  /**
   * @param createHandler the durable handler, built with the deps of the world it runs in
   * @param callbackOperations the names of the callbacks the workflow creates, where completeCallback looks
   */
  constructor(
    private readonly createHandler: () => DurableLambdaHandler,
    private readonly callbackOperations: string[],
  ) {}

  async start(name: string, input: unknown): Promise<StartResult> {
    const existing = this.runs.get(name);
    if (existing) return existing.input === canonicalJson(input) ? "already-started" : "conflict";
    const runner = new LocalDurableTestRunner<unknown>({ handlerFunction: this.createHandler() });
    // Not awaited: like an Event invoke, start returns while the execution runs on.
    const run: LocalRun = { input: canonicalJson(input), runner, done: runner.run({ payload: input }) };
    void run.done.then((result) => (run.result = result));
    this.runs.set(name, run);
    return "started";
  }

  async describe(name: string): Promise<ExecutionView | undefined> {
    const run = this.runs.get(name);
    if (!run) return undefined;
    if (!run.result) return { name, status: "RUNNING" };
    const status = run.result.getStatus();
    if (status === ExecutionStatus.SUCCEEDED)
      return { name, status: "SUCCEEDED", result: run.result.getResult() };
    const error = run.result.getError();
    return {
      name,
      status: (status ?? "FAILED") as ExecutionView["status"],
      error: { type: error.errorType, message: error.errorMessage },
    };
  }

  async completeCallback(callbackId: string, result: string): Promise<CompleteResult> {
    for (const run of this.runs.values()) {
      for (const name of this.callbackOperations) {
        const operation = run.runner.getOperation(name);
        if (operation.getCallbackDetails()?.callbackId !== callbackId) continue;
        if (run.result || operation.getStatus() !== OperationStatus.STARTED) return "already-closed";
        await operation.sendCallbackSuccess(result);
        return "completed";
      }
    }
    return "not-found";
  }

  /** The execution's end, for the demo and the tests. */
  async finished(name: string): Promise<TestResult<unknown>> {
    const run = this.runs.get(name);
    if (!run) throw new Error(`No local execution ${name}`);
    return run.done;
  }

  /** An operation of a running execution, by name (to wait until the workflow reaches it). */
  operation(name: string, operationName: string): DurableOperation<unknown> {
    const run = this.runs.get(name);
    if (!run) throw new Error(`No local execution ${name}`);
    return run.runner.getOperation(operationName);
  }
}
