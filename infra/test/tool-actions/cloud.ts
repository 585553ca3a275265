import { randomBytes } from "node:crypto";
import type { Event, Execution, ExecutionStatus } from "@aws-sdk/client-lambda";

/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment,
   @typescript-eslint/no-unsafe-argument -- the synthesized CloudFormation template is untyped JSON */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const ACCOUNT = "111111111111";
export const REGION = "us-east-1";

/**
 * The deployed stack, as far as IAM and the tools see it: every function, alias, version and managed policy of
 * the synthesized template given the ARN it would have (a function is named by its logical id), so policy
 * resources and stack outputs become the strings the tools and IAM compare.
 */
export class DeployedStack {
  constructor(readonly resources: Record<string, Json>) {}

  functionArn(logicalId: string): string {
    return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
  }

  resolve(value: unknown): string {
    if (typeof value === "string") return value;
    const v = value as Json;
    if (typeof v.Ref === "string") {
      const pseudo: Record<string, string> = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
      };
      if (pseudo[v.Ref]) return pseudo[v.Ref]!;
      const resource = this.resources[v.Ref];
      if (resource?.Type === "AWS::Lambda::Alias")
        return `${this.functionArn(resource.Properties.FunctionName.Ref)}:${resource.Properties.Name}`;
      // Each function's first published version.
      if (resource?.Type === "AWS::Lambda::Version")
        return `${this.functionArn(resource.Properties.FunctionName.Ref)}:1`;
      if (resource?.Type === "AWS::IAM::ManagedPolicy") return `arn:aws:iam::${ACCOUNT}:policy/${v.Ref}`;
      return v.Ref;
    }
    if (Array.isArray(v["Fn::GetAtt"])) {
      const [id, attribute] = v["Fn::GetAtt"] as [string, string];
      if (this.resources[id]?.Type === "AWS::Lambda::Function" && attribute === "Arn")
        return this.functionArn(id);
      return `${id}.${attribute}`;
    }
    if (Array.isArray(v["Fn::Join"])) {
      const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
      return parts.map((part) => this.resolve(part)).join(separator);
    }
    throw new Error(`Cannot resolve ${JSON.stringify(value)}`);
  }

  /** A managed policy's statements, their resources resolved. */
  policy(logicalId: string): Policy {
    const document = this.resources[logicalId]!.Properties.PolicyDocument;
    return {
      name: logicalId,
      statements: (document.Statement as Json[]).map((statement) => ({
        sid: statement.Sid as string,
        effect: statement.Effect as string,
        actions: [statement.Action].flat() as string[],
        resources: [statement.Resource].flat().map((resource) => this.resolve(resource)),
      })),
    };
  }
}

export interface Statement {
  sid: string;
  effect: string;
  actions: string[];
  resources: string[];
}
export interface Policy {
  name: string;
  statements: Statement[];
}

/** IAM's string matching for Action and Resource: `*` any run of characters, `?` one character. */
function matches(pattern: string, value: string): boolean {
  const expression = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${expression}$`).test(value);
}

/** Allowed when some Allow statement names the action and the resource, and no Deny does (there are none). */
export function allows(policies: Policy[], action: string, resource: string): boolean {
  const hits = (effect: string) =>
    policies.some((policy) =>
      policy.statements.some(
        (statement) =>
          statement.effect === effect &&
          statement.actions.some((pattern) => matches(pattern, action)) &&
          statement.resources.some((pattern) => matches(pattern, resource)),
      ),
    );
  return hits("Allow") && !hits("Deny");
}

/** One request a tool made: the IAM action, the resources Lambda authorizes it against, and IAM's answer. */
export interface Request {
  tool: string;
  action: string;
  /** Every resource the request must be allowed on (more than one where the docs leave it open: see README). */
  resources: string[];
  allowed: boolean;
}

interface SimulatedExecution {
  arn: string;
  name: string;
  /** Unqualified. */
  functionArn: string;
  events: Event[];
  /** How much of the history GetDurableExecutionHistory shows now; grows on each read unless fixed. */
  shown: number;
  /** Where the history stops growing until the next read: each invocation's end ("invocations"), or fixed. */
  growth: "invocations" | "fixed" | "two-reads";
}

/**
 * A Lambda service with durable executions, enough of it for the tools: it starts executions (their histories are
 * real ones, recorded by running the pattern's demo locally), shows each history invocation by invocation as a
 * real execution would grow, lists executions, accepts callbacks for callback ids its histories hold, and
 * authorizes every request against the policies attached to the caller, answering AccessDeniedException as Lambda
 * does. Every request is recorded, allowed or not.
 */
export class SimulatedLambda {
  readonly requests: Request[] = [];
  readonly executions: SimulatedExecution[] = [];
  /** The policies attached to the identity the tools run as. */
  identity: Policy[] = [];
  /** Which tool is running (for the record). */
  tool = "";

  constructor(
    /** What a function's execution does when started: the history by the alias ARN the tools start. */
    private readonly histories: Map<string, Event[]>,
  ) {}

  /** An execution already in flight (started by someone else): its history cut at `shown` events, RUNNING. */
  seedRunning(aliasArn: string, events: Event[], shown: number, name: string): SimulatedExecution {
    const execution = this.create(aliasArn, name, events, "fixed");
    execution.shown = shown;
    return execution;
  }

  private create(
    aliasArn: string,
    name: string,
    events: Event[],
    growth: SimulatedExecution["growth"],
  ): SimulatedExecution {
    const functionArn = aliasArn.split(":").slice(0, 7).join(":");
    const execution: SimulatedExecution = {
      arn: `${functionArn}:1/durable-execution/${name}/${randomBytes(8).toString("hex")}`,
      name,
      functionArn,
      events,
      shown: 0,
      growth,
    };
    this.executions.push(execution);
    return execution;
  }

  private authorize(action: string, resources: string[]): void {
    const denied = resources.filter((resource) => !allows(this.identity, action, resource));
    this.requests.push({ tool: this.tool, action, resources, allowed: denied.length === 0 });
    if (denied.length > 0) {
      const error = new Error(
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/cookbook-ci/${this.tool} is not authorized to perform: ${action} on resource: ${denied[0]} because no identity-based policy allows the ${action} action`,
      );
      error.name = "AccessDeniedException";
      throw error;
    }
  }

  private notFound(message: string): Error {
    const error = new Error(message);
    error.name = "ResourceNotFoundException";
    return error;
  }

  private byArn(arn: string | undefined): SimulatedExecution {
    const execution = this.executions.find((candidate) => candidate.arn === arn);
    if (!execution) throw this.notFound(`Durable execution ${arn} not found`);
    return execution;
  }

  private status(execution: SimulatedExecution): ExecutionStatus {
    const last = execution.events[execution.shown - 1];
    if (execution.shown < execution.events.length || !last) return "RUNNING";
    const ends: Record<string, ExecutionStatus> = {
      ExecutionSucceeded: "SUCCEEDED",
      ExecutionFailed: "FAILED",
      ExecutionTimedOut: "TIMED_OUT",
      ExecutionStopped: "STOPPED",
    };
    return ends[last.EventType ?? ""] ?? "RUNNING";
  }

  invoke(input: { FunctionName?: string; InvocationType?: string; DurableExecutionName?: string }): {
    StatusCode: number;
    DurableExecutionArn: string;
  } {
    const target = input.FunctionName ?? "";
    this.authorize("lambda:InvokeFunction", [target]);
    const events = this.histories.get(target);
    if (!events) throw this.notFound(`Function not found: ${target}`);
    const name = input.DurableExecutionName ?? randomBytes(8).toString("hex");
    const existing = this.executions.find((e) => e.name === name && target.startsWith(e.functionArn));
    const execution =
      existing ??
      this.create(target, name, events, input.InvocationType === "Event" ? "invocations" : "two-reads");
    return { StatusCode: input.InvocationType === "Event" ? 202 : 200, DurableExecutionArn: execution.arn };
  }

  getHistory(input: { DurableExecutionArn?: string }): { Events: Event[] } {
    this.authorize("lambda:GetDurableExecutionHistory", [input.DurableExecutionArn ?? ""]);
    const execution = this.byArn(input.DurableExecutionArn);
    if (execution.growth === "invocations") {
      // The next invocation's events, through its InvocationCompleted (or the end).
      let next = execution.shown;
      while (next < execution.events.length && execution.events[next]!.EventType !== "InvocationCompleted")
        next++;
      execution.shown = Math.min(next + 1, execution.events.length);
    } else if (execution.growth === "two-reads") {
      // The first read: through the invocation that started the first callback (or the first invocation); then all.
      execution.shown = execution.shown === 0 ? firstStop(execution.events) : execution.events.length;
    }
    return { Events: execution.events.slice(0, execution.shown) };
  }

  list(input: {
    FunctionName?: string;
    Qualifier?: string;
    DurableExecutionName?: string;
    Statuses?: string[];
  }): { DurableExecutions: Execution[] } {
    const name = input.FunctionName ?? "";
    const functionArn = name.startsWith("arn:")
      ? name
      : `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
    // Unverified which one Lambda authorizes this call against: the function, or the function with the
    // qualifier the call names. The request must be allowed on both (infra/README.md says so).
    this.authorize(
      "lambda:ListDurableExecutionsByFunction",
      input.Qualifier ? [functionArn, `${functionArn}:${input.Qualifier}`] : [functionArn],
    );
    const executions = this.executions
      .filter((execution) => execution.functionArn === functionArn)
      .filter(
        (execution) => !input.DurableExecutionName || execution.name.includes(input.DurableExecutionName),
      )
      .filter((execution) => !input.Statuses || input.Statuses.includes(this.status(execution)));
    return {
      DurableExecutions: executions.map((execution) => ({
        DurableExecutionArn: execution.arn,
        DurableExecutionName: execution.name,
        FunctionArn: `${execution.functionArn}:1`,
        Status: this.status(execution),
        StartTimestamp: execution.events[0]?.EventTimestamp ?? new Date(0),
      })),
    };
  }

  /** SendDurableExecutionCallback*: authorized on the execution that issued the callback. */
  callback(kind: "Success" | "Failure" | "Heartbeat", input: { CallbackId?: string }): Record<string, never> {
    const owner = this.executionOfCallback(input.CallbackId);
    this.authorize(`lambda:SendDurableExecutionCallback${kind}`, [owner.arn]);
    return {};
  }

  executionOfCallback(callbackId: string | undefined): SimulatedExecution {
    const owner = this.executions.find((execution) =>
      execution.events.some((event) => event.CallbackStartedDetails?.CallbackId === callbackId),
    );
    if (!owner) throw this.notFound(`No callback ${callbackId}`);
    return owner;
  }
}

/**
 * Where an execution in flight stands: waiting on its first callback (the callback started, its answer not
 * yet in) where it has one, else through its first invocation (or all but its end, if it has only one).
 */
export function firstStop(events: Event[]): number {
  const callback = events.find((event) => event.EventType === "CallbackStarted");
  if (callback) {
    const answered = events.findIndex(
      (event) =>
        event.Id === callback.Id && /^Callback(Succeeded|Failed|TimedOut)$/.test(event.EventType ?? ""),
    );
    return answered >= 0 ? answered : events.length - 1;
  }
  const end = events.findIndex((event) => event.EventType === "InvocationCompleted");
  return end >= 0 && end < events.length - 1 ? end + 1 : events.length - 1;
}
