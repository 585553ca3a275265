import {
  DurableExecutionInvocationInputWithClient,
  type CheckpointDurableExecutionRequest,
  type CheckpointDurableExecutionResponse,
  type DurableExecutionClient,
  type DurableExecutionInvocationInput,
  type DurableLambdaHandler,
  type DurableLogger,
  type GetDurableExecutionStateRequest,
  type GetDurableExecutionStateResponse,
  type OperationUpdate,
  type WireOperation,
} from "@aws/durable-execution-sdk-js";

/**
 * A sandbox that dies between a call and its checkpoint, for LocalDurableTestRunner.
 *
 * In Lambda, a sandbox can die (timeout, out of memory, a host lost) after a step's function has called a
 * provider and before the checkpoint that records the step's outcome reaches the durable service. The provider
 * acted; the service does not know. The next invocation runs the handler again from the service's state, where the
 * step is either absent (at-least-once: its START was never written) or STARTED with no outcome (at-most-once:
 * the SDK then raises StepInterruptedError to the step's retry strategy).
 *
 * `crashAfter(handler, "charge-payment")` returns a handler for the runner that does exactly that: the first
 * checkpoint that would record a SUCCEED (or, with `action`, another outcome) of the operation named
 * "charge-payment" is dropped with everything batched with it, the sandbox is treated as dead (nothing it does
 * afterwards reaches the service), and the handler runs again at once from the state the checkpoint server holds,
 * as a fresh sandbox would. Providers keep what they did, so tests assert on their records.
 *
 * Usage:
 *   const crash = crashAfter(createHandler(world.deps), "charge-payment");
 *   const runner = new LocalDurableTestRunner({ handlerFunction: crash.handler });
 *   const result = await runner.run({ payload });
 *   expect(crash.crashes()).toBe(1);            // the crash happened
 *   expect(world.payments.charges).toHaveLength(1); // and the provider's own record says what it did
 *
 * Limits: the dead sandbox is left awaiting a checkpoint that never answers, so code running concurrently with
 * the dropped step (a map or parallel branch) may still finish its current step function before it blocks; use
 * it on operations that run alone. It relies only on the public `DurableExecutionInvocationInputWithClient` seam
 * and the checkpoint client's two calls (SDK 2.4.0, testing 1.1.4).
 */
export interface CrashPlan {
  /** Which outcome of the operation is lost: SUCCEED by default; FAIL or RETRY to lose those instead. */
  action?: "SUCCEED" | "FAIL" | "RETRY";
  /** How many times to crash on that outcome before letting it through (default 1). */
  times?: number;
}

export interface CrashingHandler {
  handler: DurableLambdaHandler;
  /** How many sandboxes died so far. */
  crashes(): number;
}

export function crashAfter(
  handler: DurableLambdaHandler,
  operationName: string,
  plan: CrashPlan = {},
): CrashingHandler {
  const action = plan.action ?? "SUCCEED";
  let crashesLeft = plan.times ?? 1;
  let crashes = 0;

  const crashing: DurableLambdaHandler = async (input, lambdaContext) => {
    const server = (input as DurableExecutionInvocationInputWithClient).durableExecutionClient;
    if (!server) throw new Error("crashAfter needs the LocalDurableTestRunner's checkpoint client");
    let sandboxInput: DurableExecutionInvocationInput = input;
    for (;;) {
      const sandbox: Sandbox = new Sandbox(
        server,
        sandboxInput.CheckpointToken,
        (update) => crashesLeft > 0 && update.Action === action && nameOf(update, sandbox) === operationName,
      );
      const died = sandbox.death.then(() => "died" as const);
      const output = handler(
        new DurableExecutionInvocationInputWithClient(sandboxInput, sandbox),
        lambdaContext,
      );
      const outcome = await Promise.race([output, died]);
      if (outcome !== "died") return outcome;
      crashesLeft -= 1;
      crashes += 1;
      // A fresh sandbox: the handler runs from the top with what the service holds, and nothing else.
      sandboxInput = await sandbox.stateAfterDeath(sandboxInput.DurableExecutionArn);
    }
  };
  return { handler: crashing, crashes: () => crashes };
}

/** The checkpoint client one sandbox sees. It forwards to the server until the chosen update, then goes silent. */
class Sandbox implements DurableExecutionClient {
  /** Names by operation id: an outcome update may carry only the id its START named. */
  readonly names = new Map<string, string>();
  private dead = false;
  private die!: () => void;
  readonly death = new Promise<void>((resolve) => (this.die = resolve));

  constructor(
    private readonly server: DurableExecutionClient,
    private lastToken: string,
    private readonly isFatal: (update: OperationUpdate) => boolean,
  ) {}

  async getExecutionState(
    request: GetDurableExecutionStateRequest,
    logger?: DurableLogger,
  ): Promise<GetDurableExecutionStateResponse> {
    if (this.dead) return never();
    return this.server.getExecutionState(request, logger);
  }

  async checkpoint(
    request: CheckpointDurableExecutionRequest,
    logger?: DurableLogger,
  ): Promise<CheckpointDurableExecutionResponse> {
    if (this.dead) return never();
    const updates = request.Updates ?? [];
    for (const update of updates) if (update.Id && update.Name) this.names.set(update.Id, update.Name);
    if (updates.some(this.isFatal)) {
      this.dead = true;
      this.die();
      return never();
    }
    const response = await this.server.checkpoint(request, logger);
    if (response.CheckpointToken) this.lastToken = response.CheckpointToken;
    return response;
  }

  /** The invocation input a new sandbox gets: every operation the server holds, read page by page. */
  async stateAfterDeath(executionArn: string): Promise<DurableExecutionInvocationInput> {
    const operations: WireOperation[] = [];
    let marker: string | undefined;
    do {
      const page = await this.server.getExecutionState({
        DurableExecutionArn: executionArn,
        CheckpointToken: this.lastToken,
        Marker: marker,
      });
      operations.push(...(page.Operations ?? []));
      marker = page.NextMarker;
    } while (marker);
    return {
      DurableExecutionArn: executionArn,
      CheckpointToken: this.lastToken,
      InitialExecutionState: { Operations: operations },
    };
  }
}

function nameOf(update: OperationUpdate, sandbox: Sandbox): string | undefined {
  return update.Name ?? (update.Id ? sandbox.names.get(update.Id) : undefined);
}

/** What a dead sandbox's calls return: nothing, ever. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}
