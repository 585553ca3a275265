import {
  GetDurableExecutionHistoryCommand,
  LambdaClient,
  ListDurableExecutionsByFunctionCommand,
  type Event,
} from "@aws-sdk/client-lambda";
import { whichPolicy } from "./policies";

/**
 * The few Lambda API calls the doctor and the cloud demo make, behind the client's own `send` so tests
 * pass a stub. Errors a person can fix (no credentials, no Region, no such function) become AwsProblem
 * with a sentence saying what to do, instead of a stack trace.
 */
export type Lambda = Pick<LambdaClient, "send">;

export class AwsProblem extends Error {
  override readonly name = "AwsProblem";
}

/** arn:aws:lambda:eu-west-1:123456789012:function:... → eu-west-1 */
export function regionOf(arn: string | undefined): string | undefined {
  return arn?.startsWith("arn:") ? arn.split(":")[3] || undefined : undefined;
}

/** A client for the Region the ARN names (or the usual AWS_REGION / profile chain when it names none). */
export function lambdaFor(arn?: string): Lambda {
  const region = regionOf(arn);
  return new LambdaClient(region ? { region } : {});
}

/** Every page of an execution's history, following NextMarker. */
export async function fetchHistory(lambda: Lambda, durableExecutionArn: string): Promise<Event[]> {
  const events: Event[] = [];
  let marker: string | undefined;
  do {
    const page = await call(() =>
      lambda.send(
        new GetDurableExecutionHistoryCommand({
          DurableExecutionArn: durableExecutionArn,
          IncludeExecutionData: true,
          Marker: marker,
        }),
      ),
    );
    events.push(...(page.Events ?? []));
    marker = page.NextMarker;
  } while (marker);
  return events;
}

/** `--function NAME:ALIAS --execution NAME` → the execution's ARN (an ARN is returned as is). */
export async function resolveExecutionArn(
  lambda: Lambda,
  execution: string,
  functionName?: string,
): Promise<string> {
  if (execution.startsWith("arn:")) return execution;
  if (!functionName)
    throw new AwsProblem(
      `"${execution}" is not an execution ARN: give its ARN, or --function NAME:ALIAS to look the name up`,
    );
  const [name, qualifier] = splitQualifier(functionName);
  const page = await call(() =>
    lambda.send(
      new ListDurableExecutionsByFunctionCommand({
        FunctionName: name,
        Qualifier: qualifier,
        DurableExecutionName: execution,
      }),
    ),
  );
  const found = page.DurableExecutions?.find((candidate) => candidate.DurableExecutionName === execution);
  if (!found?.DurableExecutionArn)
    throw new AwsProblem(`No durable execution named "${execution}" on ${functionName}`);
  return found.DurableExecutionArn;
}

/** The ARNs of the executions still RUNNING on a function (every page; a qualifier narrows it to one version or alias). */
export async function listRunningExecutions(lambda: Lambda, functionName: string): Promise<string[]> {
  const [name, qualifier] = splitQualifier(functionName);
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const page = await call(() =>
      lambda.send(
        new ListDurableExecutionsByFunctionCommand({
          FunctionName: name,
          Qualifier: qualifier,
          Statuses: ["RUNNING"],
          Marker: marker,
        }),
      ),
    );
    for (const execution of page.DurableExecutions ?? []) {
      if (execution.DurableExecutionArn) arns.push(execution.DurableExecutionArn);
    }
    marker = page.NextMarker;
  } while (marker);
  return arns;
}

/** "fn:live" → ["fn", "live"]; an ARN keeps its own colons. */
export function splitQualifier(functionName: string): [string, string | undefined] {
  const parts = functionName.split(":");
  const qualified = functionName.startsWith("arn:") ? parts.length === 8 : parts.length === 2;
  return qualified ? [parts.slice(0, -1).join(":"), parts.at(-1)] : [functionName, undefined];
}

export async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw new AwsProblem(explainAwsError(error));
  }
}

/** One sentence a person can act on, for the errors people hit first. */
export function explainAwsError(error: unknown): string {
  const { name = "", message = String(error) } = (error ?? {}) as { name?: string; message?: string };
  if (name === "CredentialsProviderError" || /credential/i.test(message)) {
    return "No AWS credentials found. Sign in first (aws sso login, aws configure, or AWS_PROFILE / AWS_ACCESS_KEY_ID), then try again.";
  }
  if (/region is missing/i.test(message)) {
    return "No AWS Region set. Set AWS_REGION (or a profile with a region), or pass a full ARN, which names its Region.";
  }
  if (name === "ResourceNotFoundException")
    return `Not found: ${message}. Check the function name, alias and Region (is the stack deployed?).`;
  if (name === "AccessDeniedException" || name === "AccessDenied") {
    return `Access denied: ${message.replace(/\.$/, "")}. ${whichPolicy(message)}`;
  }
  if (
    name === "UnrecognizedClientException" ||
    name === "ExpiredTokenException" ||
    name === "InvalidSignatureException"
  ) {
    return `AWS rejected the credentials (${name}): sign in again.`;
  }
  if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(message))
    return `Cannot reach AWS (${message}): check the network or proxy.`;
  return `${name || "Error"}: ${message}`;
}
