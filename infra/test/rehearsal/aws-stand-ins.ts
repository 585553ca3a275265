import * as http from "node:http";
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

async function serve(
  handle: (req: http.IncomingMessage, body: string) => { status: number; body: unknown },
): Promise<StandIn & { server: http.Server }> {
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      const { status, body } = handle(req, raw);
      res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify(body));
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
  });
  return { ...standIn, reads };
}

/** A scripted model behind Bedrock Runtime's Converse API (`POST /model/{modelId}/converse`). */
export async function bedrockConverse(replies: unknown[]) {
  const requests: { modelId: string; body: Record<string, unknown> }[] = [];
  const standIn = await serve((req, raw) => {
    const match = /^\/model\/([^/]+)\/converse$/.exec(req.url ?? "");
    if (req.method !== "POST" || !match) return { status: 404, body: { message: `no route ${req.url}` } };
    requests.push({
      modelId: decodeURIComponent(match[1]!),
      body: JSON.parse(raw) as Record<string, unknown>,
    });
    const reply = replies[requests.length - 1];
    if (reply === undefined) return { status: 400, body: { message: "the script has no more replies" } };
    return { status: 200, body: reply };
  });
  return { ...standIn, requests };
}

/** Lambda's Invoke (`POST /2015-03-31/functions/{name}/invocations`): what the front door starts, recorded. */
export async function lambdaInvoke() {
  const invocations: {
    functionName: string;
    qualifier?: string;
    payload: unknown;
    headers: http.IncomingHttpHeaders;
  }[] = [];
  const standIn = await serve((req, raw) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (req.method !== "POST" || !match) return { status: 404, body: { Message: `no route ${req.url}` } };
    invocations.push({
      functionName: decodeURIComponent(match[1]!),
      qualifier: url.searchParams.get("Qualifier") ?? undefined,
      payload: raw ? (JSON.parse(raw) as unknown) : undefined,
      headers: req.headers,
    });
    return { status: 202, body: {} };
  });
  return { ...standIn, invocations };
}
