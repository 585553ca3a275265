import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";

/**
 * Local stand-ins for the AWS APIs that have no local implementation on npm, speaking each service's own wire
 * protocol, so the bundled AWS SDK clients talk to them unchanged (pointed here by `AWS_ENDPOINT_URL_<SERVICE>`).
 * Each keeps its own record of what it was asked. DynamoDB and S3 are real local implementations (dynalite,
 * s3rver); these are small because the functions use one or two operations of each service.
 */
export interface StandIn {
  url: string;
  close(): Promise<void>;
}

type Reply = { status: number; body: unknown };

async function serve(
  handle: (req: http.IncomingMessage, body: string) => Reply | Promise<Reply>,
  /** JSON 1.1 for Secrets Manager; the REST-JSON services (Lambda, Bedrock Runtime) answer application/json. */
  contentType = "application/json",
): Promise<StandIn & { server: http.Server }> {
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      void Promise.resolve(handle(req, raw)).then(({ status, body }) => {
        res.writeHead(status, { "content-type": contentType });
        res.end(JSON.stringify(body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Secrets Manager's GetSecretValue (JSON 1.1 protocol), over the secrets it is given by ARN. */
export async function secretsManager(secrets: Map<string, string>) {
  const reads: string[] = [];
  const standIn = await serve((req, raw) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const { SecretId } = JSON.parse(raw || "{}") as { SecretId?: string };
    if (target !== "secretsmanager.GetSecretValue") {
      return { status: 400, body: { __type: "UnknownOperationException", message: target } };
    }
    reads.push(String(SecretId));
    const value = secrets.get(String(SecretId));
    if (value === undefined) {
      return {
        status: 400,
        body: {
          __type: "ResourceNotFoundException",
          message: "Secrets Manager can't find the specified secret.",
        },
      };
    }
    return {
      status: 200,
      body: {
        ARN: SecretId,
        Name: SecretId,
        SecretString: value,
        VersionId: "v1",
        VersionStages: ["AWSCURRENT"],
      },
    };
  }, "application/x-amz-json-1.1");
  return { ...standIn, reads };
}

/** One Converse request as the stand-in received it: the model id from the path, the body as sent. */
export interface ConverseRequest {
  modelId: string;
  body: {
    messages?: { role: string; content: Record<string, unknown>[] }[];
    toolConfig?: { tools?: { toolSpec?: { name?: string } }[] };
    [field: string]: unknown;
  };
}

/** The tool results a Converse request carries in its last message: what the function sent back to the model. */
export function toolResultsSentBack(request: ConverseRequest): unknown[] {
  return (request.body.messages?.at(-1)?.content ?? []).flatMap((block) =>
    block.toolResult === undefined ? [] : [block.toolResult],
  );
}

/**
 * A scripted model behind Bedrock Runtime's Converse API (`POST /model/{modelId}/converse`, REST-JSON): `reply`
 * answers each request (it sees what was sent, tool results included) with a Converse response body. Over HTTP/2
 * in clear text: BedrockRuntimeClient sends through the SDK's HTTP/2 handler, which an HTTP/1.1 server cannot
 * answer (the client reports "Protocol error").
 */
export async function bedrockConverse(reply: (request: ConverseRequest, turn: number) => unknown) {
  const requests: ConverseRequest[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      const match = /^\/model\/([^/]+)\/converse$/.exec(req.url ?? "");
      if (req.method !== "POST" || !match) return answer(404, { message: `no route ${req.url}` });
      const request: ConverseRequest = {
        modelId: decodeURIComponent(match[1]!),
        body: JSON.parse(raw) as ConverseRequest["body"],
      };
      requests.push(request);
      const body = reply(request, requests.length);
      if (body === undefined) return answer(400, { message: `the script has no turn ${requests.length}` });
      return answer(200, body);
    });
  });
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An execution started through the Lambda stand-in, as Lambda would list it. */
interface StartedExecution {
  functionName: string;
  qualifier?: string;
  name: string;
  arn: string;
  payload: string;
}

/**
 * The part of Lambda's API the front door calls (REST-JSON), each call recorded:
 * - Invoke (`POST /2015-03-31/functions/{name}/invocations`): the invocation, its name, qualifier (from a
 *   qualified ARN or `?Qualifier=`), invocation type, durable execution name and payload. An Event invoke of a
 *   durable function is accepted (202) and its execution listed from then on.
 * - ListDurableExecutionsByFunction and GetDurableExecution, over the executions started here (RUNNING).
 * - SendDurableExecutionCallbackSuccess (`POST /2025-12-01/durable-execution-callbacks/{id}/succeed`): the
 *   callback id and the result bytes, handed to the rehearsal's runner of the waiting execution (below). Nothing
 *   here runs a durable function: the rehearsal runs it through LocalDurableTestRunner.
 */
export async function lambdaApi() {
  const invocations: {
    functionName: string;
    qualifier?: string;
    invocationType?: string;
    executionName?: string;
    payload: unknown;
  }[] = [];
  const listed: { functionName: string; executionName?: string }[] = [];
  const callbacks: { callbackId: string; result: string }[] = [];
  const waiting = new Map<string, ((result: string) => void)[]>();
  const executions: StartedExecution[] = [];
  const standIn = await serve((req, raw) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const header = (name: string) => req.headers[name.toLowerCase()] as string | undefined;
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (req.method === "POST" && invoke) {
      const target = decodeURIComponent(invoke[1]!);
      const arn = /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:([^:]+)(?::([^:]+))?$/.exec(target);
      const functionName = arn ? arn[1]! : target;
      const qualifier = url.searchParams.get("Qualifier") ?? arn?.[2];
      const executionName = header("X-Amz-Durable-Execution-Name");
      invocations.push({
        functionName,
        qualifier,
        invocationType: header("X-Amz-Invocation-Type"),
        executionName,
        payload: raw ? (JSON.parse(raw) as unknown) : undefined,
      });
      if (executionName) {
        executions.push({
          functionName,
          qualifier,
          name: executionName,
          arn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}:${qualifier ?? "$LATEST"}/durable-execution/${executionName}/run-1`,
          payload: raw,
        });
      }
      return { status: 202, body: {} };
    }
    const list = /^\/2025-12-01\/functions\/([^/]+)\/durable-executions$/.exec(url.pathname);
    if (req.method === "GET" && list) {
      const functionName = decodeURIComponent(list[1]!);
      const executionName = url.searchParams.get("DurableExecutionName") ?? undefined;
      listed.push({ functionName, executionName });
      const found = executions.filter(
        (e) => e.functionName === functionName && (!executionName || e.name === executionName),
      );
      return {
        status: 200,
        body: {
          DurableExecutions: found.map((e) => ({
            DurableExecutionArn: e.arn,
            DurableExecutionName: e.name,
            Status: "RUNNING",
          })),
        },
      };
    }
    const get = /^\/2025-12-01\/durable-executions\/(.+)$/.exec(url.pathname);
    if (req.method === "GET" && get) {
      const execution = executions.find((e) => e.arn === decodeURIComponent(get[1]!));
      if (!execution) return { status: 404, body: { Type: "User", Message: "No such execution" } };
      return {
        status: 200,
        body: {
          DurableExecutionArn: execution.arn,
          DurableExecutionName: execution.name,
          FunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${execution.functionName}`,
          Status: "RUNNING",
          StartTimestamp: Math.floor(Date.now() / 1000),
          InputPayload: execution.payload,
        },
      };
    }
    const succeed = /^\/2025-12-01\/durable-execution-callbacks\/([^/]+)\/succeed$/.exec(url.pathname);
    if (req.method === "POST" && succeed) {
      const callbackId = decodeURIComponent(succeed[1]!);
      callbacks.push({ callbackId, result: raw });
      for (const deliver of waiting.get(callbackId) ?? []) deliver(raw);
      waiting.delete(callbackId);
      return { status: 200, body: {} };
    }
    // Not Lambda's API: how the rehearsal's runner (child.cjs) learns what Lambda would deliver to the execution
    // waiting on a callback. Answers once the callback was completed through the route above, with its bytes.
    const delivery = /^\/rehearsal\/callbacks\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && delivery) {
      const callbackId = decodeURIComponent(delivery[1]!);
      const done = callbacks.find((callback) => callback.callbackId === callbackId);
      if (done) return { status: 200, body: { result: done.result } };
      return new Promise<Reply>((resolve) =>
        waiting.set(callbackId, [
          ...(waiting.get(callbackId) ?? []),
          (result) => resolve({ status: 200, body: { result } }),
        ]),
      );
    }
    return { status: 404, body: { Type: "User", Message: `no route ${req.method} ${req.url}` } };
  });
  return {
    ...standIn,
    invocations,
    listed,
    callbacks,
    /** Where child.cjs waits for a callback's result: `<deliveries>/<callbackId>`. */
    deliveries: `${standIn.url}/rehearsal/callbacks`,
  };
}
