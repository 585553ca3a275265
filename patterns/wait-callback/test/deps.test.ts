import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
} from "@aws-sdk/client-lambda";
import { createHttpDeps, TransientServiceError, type HttpDepsConfig } from "../src";
import { samplePurchase } from "../src/demo";
import { sendCallback } from "../scripts/send-callback";

// The real dependencies against a local HTTP server on 127.0.0.1: no network, no cloud.
interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
let server: Server;
let baseUrl: string;
const received: Received[] = [];
let answers: Array<{ status: number; body: string }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      received.push({ method: request.method ?? "", url: request.url ?? "", headers: request.headers, body });
      const answer = answers.shift() ?? { status: 200, body: "" };
      response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  received.length = 0;
  answers = [];
});

const config = (): HttpDepsConfig => ({
  chatWebhookUrl: `${baseUrl}/hooks/T0/SECRET-WEBHOOK`,
  approvalPageUrl: "https://approvals.example.com/",
  purchasingUrl: `${baseUrl}/purchasing/`,
  supplierUrl: `${baseUrl}/supplier/`,
  apiToken: "tok-1",
});

describe("the real dependencies", () => {
  const callbackId = "Ab3d+Ef9/hIj==";

  it("posts the approval request to the chat webhook with links that carry the encoded callback id", async () => {
    answers = [{ status: 200, body: "ok" }];
    await createHttpDeps(config).approvals.askForDecision({
      kind: "approval",
      approver: samplePurchase.approvers.manager,
      callbackId,
      request: samplePurchase,
      idempotencyKey: "PR-2042:ask-manager",
    });

    expect(received).toHaveLength(1);
    const [post] = received;
    expect(post!.method).toBe("POST");
    expect(post!.url).toBe("/hooks/T0/SECRET-WEBHOOK");
    expect(post!.headers["idempotency-key"]).toBe("PR-2042:ask-manager");
    const { text } = JSON.parse(post!.body) as { text: string };
    expect(text).toContain("Dana, please approve a purchase (PR-2042).");
    expect(text).toContain("Ada asks for 2 x Standing desk from acme-office: 1299.00 EUR.");
    expect(text).toContain("Approve: https://approvals.example.com/callbacks/Ab3d%2BEf9%2FhIj%3D%3D/approve");
    expect(text).toContain(
      "Need more time: https://approvals.example.com/callbacks/Ab3d%2BEf9%2FhIj%3D%3D/more-time",
    );
  });

  it("reports a webhook outage as transient without revealing the webhook URL", async () => {
    answers = [{ status: 503, body: "down" }];
    const sending = createHttpDeps(config).approvals.askForDecision({
      kind: "reminder",
      reminderNumber: 1,
      approver: samplePurchase.approvers.director,
      callbackId,
      request: samplePurchase,
      idempotencyKey: "k",
    });

    await expect(sending).rejects.toBeInstanceOf(TransientServiceError);
    await sending.catch((error: Error) => {
      expect(error.message).toBe("chat webhook answered 503");
      expect(error.message).not.toContain("SECRET");
    });
  });

  it("talks JSON to purchasing and the supplier, with the token and idempotency key", async () => {
    answers = [
      { status: 201, body: JSON.stringify({ reference: "PO-REQ-9" }) },
      { status: 200, body: JSON.stringify({ state: "SHIPPED", trackingNumber: "TRK-1" }) },
    ];
    const deps = createHttpDeps(config);

    await expect(
      deps.purchasing.submit({ request: samplePurchase, idempotencyKey: "PR-2042:submit" }),
    ).resolves.toEqual({
      reference: "PO-REQ-9",
    });
    await expect(deps.supplier.jobStatus({ jobId: "job 1" })).resolves.toEqual({
      state: "SHIPPED",
      trackingNumber: "TRK-1",
    });

    expect(received.map((request) => `${request.method} ${request.url}`)).toEqual([
      "POST /purchasing/purchase-requests",
      "GET /supplier/orders/job%201",
    ]);
    expect(received[0]!.headers.authorization).toBe("Bearer tok-1");
    expect(received[0]!.headers["idempotency-key"]).toBe("PR-2042:submit");
    expect(JSON.parse(received[0]!.body)).toEqual(samplePurchase);
  });

  it("fails clearly, at call time, when a URL is not configured", async () => {
    const deps = createHttpDeps(() => ({ ...config(), supplierUrl: "" }));
    await expect(deps.supplier.jobStatus({ jobId: "j" })).rejects.toThrow("No supplierUrl configured");
  });
});

describe("scripts/send-callback.ts", () => {
  const client = () => {
    const sent: unknown[] = [];
    return { sent, send: jest.fn(async (command: unknown) => void sent.push(command)) };
  };

  it("approves with SendDurableExecutionCallbackSuccess, the answer JSON in Result", async () => {
    const stub = client();
    const line = await sendCallback(stub as never, ["approve", "Ab3dEf9hIj", "u-dana", "Within", "budget"]);

    expect(line).toBe("approved Ab3dEf… as u-dana");
    const command = stub.sent[0] as SendDurableExecutionCallbackSuccessCommand;
    expect(command).toBeInstanceOf(SendDurableExecutionCallbackSuccessCommand);
    expect(command.input.CallbackId).toBe("Ab3dEf9hIj");
    expect(JSON.parse(Buffer.from(command.input.Result as Uint8Array).toString())).toEqual({
      decision: "approve",
      decidedBy: "u-dana",
      comment: "Within budget",
    });
  });

  it("rejects with SendDurableExecutionCallbackFailure and sends heartbeats", async () => {
    const stub = client();
    await sendCallback(stub as never, ["reject", "Ab3dEf9hIj", "Over", "budget"]);
    await sendCallback(stub as never, ["heartbeat", "Ab3dEf9hIj"]);

    const [failure, heartbeat] = stub.sent as [
      SendDurableExecutionCallbackFailureCommand,
      SendDurableExecutionCallbackHeartbeatCommand,
    ];
    expect(failure).toBeInstanceOf(SendDurableExecutionCallbackFailureCommand);
    expect(failure.input).toEqual({
      CallbackId: "Ab3dEf9hIj",
      Error: { ErrorType: "Rejected", ErrorMessage: "Over budget" },
    });
    expect(heartbeat).toBeInstanceOf(SendDurableExecutionCallbackHeartbeatCommand);
    expect(heartbeat.input).toEqual({ CallbackId: "Ab3dEf9hIj" });
  });

  it("explains its usage instead of sending anything odd", async () => {
    const stub = client();
    await expect(sendCallback(stub as never, ["approve"])).rejects.toThrow("Usage: send-callback.ts");
    await expect(sendCallback(stub as never, ["maybe", "id"])).rejects.toThrow("Usage: send-callback.ts");
    expect(stub.send).not.toHaveBeenCalled();
  });
});
