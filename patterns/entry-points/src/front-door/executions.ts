import type { LambdaClient } from "@aws-sdk/client-lambda";
import { onFirstUse } from "../on-first-use";

/**
 * The small seam between the front door (API, webhook, queue starter) and Lambda's durable execution API.
 * The handlers only ever start, describe and complete: a real implementation on the AWS SDK below, and a local
 * one on LocalDurableTestRunner (local-executions.ts) for the demo and the tests.
 */
export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "STOPPED";

export interface ExecutionView {
  name: string;
  status: ExecutionStatus;
  result?: unknown;
  error?: { type?: string; message?: string };
}

/** started: a new execution (or Lambda found the identical one); conflict: the name is taken by another input. */
export type StartResult = "started" | "already-started" | "conflict";

/** already-closed: completed before, or timed out; not-found: no such callback. */
export type CompleteResult = "completed" | "already-closed" | "not-found";

export interface Executions {
  /** Starts the execution asynchronously: it returns once Lambda has accepted it, not when it ends. */
  start(name: string, input: unknown): Promise<StartResult>;
  describe(name: string): Promise<ExecutionView | undefined>;
  /** The result is passed to the waiting callback as is (the workflow parses it). */
  completeCallback(callbackId: string, result: string): Promise<CompleteResult>;
}

/** A durable function is invoked through a version or an alias: `arn:...:function:<name>:<qualifier>`. */
const QUALIFIED_FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:([A-Za-z0-9_-]+):([A-Za-z0-9_$-]+)$/;

export function parseQualifiedArn(arn: string): { functionName: string; qualifier: string } {
  const match = QUALIFIED_FUNCTION_ARN.exec(arn);
  if (!match) {
    throw new Error(
      `"${arn}" is not a qualified Lambda function ARN (…:function:<name>:<alias or version>). ` +
        `Durable executions start only through a version or an alias; an unqualified ARN is refused.`,
    );
  }
  return { functionName: match[1]!, qualifier: match[2]! };
}

/** Same JSON value, whatever the key order: how a repeated start is told apart from a conflicting one. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** With a name filter a page is nearly always enough; a bound keeps a request within its second. */
const MAX_LIST_PAGES = 10;

/**
 * The Lambda client module, evaluated at the first call rather than when a handler loads (esbuild keeps a
 * dynamic import as a module evaluated on demand), and one client per sandbox, made then.
 */
const lambdaModule = onFirstUse(() => import("@aws-sdk/client-lambda"));
const lazyLambdaClient = onFirstUse(async () => new (await lambdaModule()).LambdaClient({}));
/** Sends through the sandbox's client, made on the first send (AwsExecutions passes only the command). */
const sandboxLambda = {
  send: async (command: Parameters<LambdaClient["send"]>[0]) => (await lazyLambdaClient()).send(command),
} as Pick<LambdaClient, "send">;

const errorName = (error: unknown) => (error as { name?: string } | undefined)?.name;

/**
 * Executions on the AWS SDK. The caller's role needs lambda:InvokeFunction on the alias (start),
 * lambda:ListDurableExecutionsByFunction and lambda:GetDurableExecution (describe, and telling a repeat from
 * a conflict), lambda:SendDurableExecutionCallbackSuccess (complete). Each front-door function gets only the
 * calls it makes (see the infra).
 */
export class AwsExecutions implements Executions {
  private readonly functionName: string;

  constructor(
    private readonly aliasArn: string,
    private readonly client: Pick<LambdaClient, "send"> = sandboxLambda,
  ) {
    // Checked here: an unqualified ARN would fail every start, so it fails the first call, with the reason.
    this.functionName = parseQualifiedArn(aliasArn).functionName;
  }

  async start(name: string, input: unknown): Promise<StartResult> {
    // Lambda answers an identical start (same name, same payload) with the existing execution, as if it were
    // new: only a look first can tell the client that its retry found the first one.
    const listed = await this.find(name, true);
    if (listed) return this.compare(listed, input);
    const { InvokeCommand } = await lambdaModule();
    try {
      // Event: Lambda answers once the execution is durably started; the execution may then run for days.
      // A synchronous invoke would tie the caller to the execution and is cut at 15 minutes.
      await this.client.send(
        new InvokeCommand({
          FunctionName: this.aliasArn,
          InvocationType: "Event",
          DurableExecutionName: name,
          Payload: JSON.stringify(input),
        }),
      );
      return "started";
    } catch (error) {
      if (errorName(error) !== "DurableExecutionAlreadyStartedException") throw error;
    }
    // Started meanwhile, by a concurrent request or one not yet listed: the same order is a repeat, anything
    // else under that name a conflict.
    const existing = await this.find(name, true);
    if (!existing) throw new Error(`Execution ${name} is said to exist but was not found; try again`);
    return this.compare(existing, input);
  }

  private compare(existing: { InputPayload?: string }, input: unknown): StartResult {
    const sameInput =
      existing.InputPayload !== undefined &&
      canonicalJson(JSON.parse(existing.InputPayload)) === canonicalJson(input);
    return sameInput ? "already-started" : "conflict";
  }

  async describe(name: string): Promise<ExecutionView | undefined> {
    const execution = await this.find(name, true);
    if (!execution) return undefined;
    const view: ExecutionView = { name, status: execution.Status ?? "RUNNING" };
    if (execution.Result !== undefined && execution.Result !== "") view.result = JSON.parse(execution.Result);
    if (execution.Error)
      view.error = { type: execution.Error.ErrorType, message: execution.Error.ErrorMessage };
    return view;
  }

  async completeCallback(callbackId: string, result: string): Promise<CompleteResult> {
    const { SendDurableExecutionCallbackSuccessCommand } = await lambdaModule();
    try {
      await this.client.send(
        new SendDurableExecutionCallbackSuccessCommand({
          CallbackId: callbackId,
          Result: Buffer.from(result),
        }),
      );
      return "completed";
    } catch (error) {
      // The SDK's documented errors for this call: a timed-out callback, an id the service does not know, and
      // invalid parameters, which is how a callback completed before is refused. None may echo the id.
      const name = errorName(error);
      if (name === "CallbackTimeoutException" || name === "InvalidParameterValueException")
        return "already-closed";
      if (name === "ResourceNotFoundException") return "not-found";
      // eslint-disable-next-line preserve-caught-error -- the SDK's error may echo the callback id: name only.
      throw new Error(`SendDurableExecutionCallbackSuccess failed: ${name ?? "unknown error"}`);
    }
  }

  /**
   * Executions are looked up by name on this function; the ARN never leaves the front door. No Qualifier:
   * names are unique per function, and an execution started through the alias runs on (and is recorded
   * under) the version the alias pointed at then, which a later deployment moves on from.
   *
   * The name filter is not documented as exact, so the name is checked here (order-A-100 is not
   * order-A-1000), through every page of the list.
   */
  private async find(name: string, includeData: boolean) {
    const { GetDurableExecutionCommand, ListDurableExecutionsByFunctionCommand } = await lambdaModule();
    let marker: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const listed = await this.client.send(
        new ListDurableExecutionsByFunctionCommand({
          FunctionName: this.functionName,
          DurableExecutionName: name,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
      const arn = listed.DurableExecutions?.find(
        (execution) => execution.DurableExecutionName === name,
      )?.DurableExecutionArn;
      if (arn)
        return this.client.send(
          new GetDurableExecutionCommand({ DurableExecutionArn: arn, IncludeExecutionData: includeData }),
        );
      marker = listed.NextMarker;
      if (!marker) return undefined;
    }
    // Never "not found" on a guess: the caller answers 503 and the client asks again.
    throw new Error(`Execution ${name}: not found in ${MAX_LIST_PAGES} pages of executions; try again`);
  }
}
