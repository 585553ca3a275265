import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  SendDurableExecutionCallbackFailureCommand,
  SendDurableExecutionCallbackHeartbeatCommand,
  SendDurableExecutionCallbackSuccessCommand,
} from "@aws-sdk/client-lambda";
import {
  ClientError,
  createHttpDeps,
  MalformedResponseError,
  redactCallbackId,
  TransientServiceError,
  type DecisionRequest,
  type HttpDepsConfig,
} from "../src";
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
  chatWebhookUrl: async () => `${baseUrl}/hooks/T0/SECRET-WEBHOOK`,
  approvalPageUrl: "https://approvals.example.com/",
  purchasingUrl: `${baseUrl}/purchasing/`,
  supplierUrl: `${baseUrl}/supplier/`,
  apiToken: async () => "tok-1",
});

describe("the real dependencies", () => {
  const callbackId = "Ab3d+Ef9/hIj==";
  const ask = (overrides: Partial<DecisionRequest> = {}): DecisionRequest => ({
    kind: "approval",
    approver: samplePurchase.approvers.manager,
    callbackId,
    acceptsHeartbeat: true,
    request: samplePurchase,
    idempotencyKey: "PR-2042:ask-manager",
    ...overrides,
  });
  const postedText = () => (JSON.parse(received[0]!.body) as { text: string }).text;

  it("posts the approval request to the chat webhook, the encoded callback id in the links' fragment", async () => {
    answers = [{ status: 200, body: "ok" }];
    await createHttpDeps(config).approvals.askForDecision(ask());

    expect(received).toHaveLength(1);
    const [post] = received;
    expect(post!.method).toBe("POST");
    expect(post!.url).toBe("/hooks/T0/SECRET-WEBHOOK");
    expect(post!.headers["idempotency-key"]).toBe("PR-2042:ask-manager");
    expect(postedText().split("\n")).toEqual([
      "Dana, please approve a purchase (PR-2042).",
      'Ada asks for 2 x "Standing desk" from "acme-office": 1299.00 EUR. (Quoted text is the requester\'s own.)',
      "Approve: https://approvals.example.com/decide#callback=Ab3d%2BEf9%2FhIj%3D%3D&action=approve",
      "Reject: https://approvals.example.com/decide#callback=Ab3d%2BEf9%2FhIj%3D%3D&action=reject",
      "Need more time: https://approvals.example.com/decide#callback=Ab3d%2BEf9%2FhIj%3D%3D&action=more-time",
    ]);
  });

  it("offers no 'need more time' link for a callback without a heartbeat timeout", async () => {
    answers = [{ status: 200, body: "ok" }];
    await createHttpDeps(config).approvals.askForDecision(
      ask({ kind: "escalation", approver: samplePurchase.approvers.director, acceptsHeartbeat: false }),
    );
    expect(postedText()).not.toContain("Need more time");
    expect(postedText()).not.toContain("more-time");
    expect(postedText().split("\n")).toHaveLength(4);
  });

  it("tells the approver why a new link came, in fixed words only", async () => {
    answers = [{ status: 200, body: "ok" }];
    await createHttpDeps(config).approvals.askForDecision(
      ask({ kind: "again", previousAnswer: "NOT_ASKED" }),
    );
    expect(postedText().split("\n")[0]).toBe(
      "Dana, an answer to your earlier link was refused (it was not sent by you). That link no longer works: please decide with these (PR-2042).",
    );
  });

  it("escapes what the requester wrote, so it cannot ping a channel, plant a link or forge a line", async () => {
    answers = [{ status: 200, body: "ok" }];
    const planted = {
      ...samplePurchase,
      requester: { ...samplePurchase.requester, name: "<!channel> Ada" },
      item: {
        ...samplePurchase.item,
        description:
          "Desk *URGENT* <https://evil.example/approve|Approve> @here\nApprove: https://evil.example/x",
        supplier: "`acme` <@U024BE7LH> www.evil.example",
      },
    };
    await createHttpDeps(config).approvals.askForDecision(ask({ request: planted }));

    const lines = postedText().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe(
      '&lt;!channel&gt; Ada asks for 2 x "Desk ∗URGENT∗ &lt;https:∕∕evil․example/approve|Approve&gt; ＠here Approve: https:∕∕evil․example/x" from "ˋacmeˋ &lt;＠U024BE7LH&gt; www․evil․example": 1299.00 EUR. (Quoted text is the requester\'s own.)',
    );
    // Only the workflow's own lines carry links, and every link goes to the approval page.
    expect(postedText().match(/https?:\/\/[^\s]+/g)).toEqual([
      expect.stringMatching(/^https:\/\/approvals\.example\.com\/decide#/),
      expect.stringMatching(/^https:\/\/approvals\.example\.com\/decide#/),
      expect.stringMatching(/^https:\/\/approvals\.example\.com\/decide#/),
    ]);
    expect(lines.filter((line) => line.startsWith("Approve:"))).toHaveLength(1);
    expect(postedText()).not.toMatch(/<|@|\*|`|evil\.example/);
  });

  it("reports a webhook outage as transient without revealing the webhook URL", async () => {
    answers = [{ status: 503, body: "down" }];
    const sending = createHttpDeps(config).approvals.askForDecision(
      ask({
        kind: "reminder",
        reminderNumber: 1,
        approver: samplePurchase.approvers.director,
        idempotencyKey: "k",
      }),
    );

    await expect(sending).rejects.toBeInstanceOf(TransientServiceError);
    await sending.catch((error: Error) => {
      expect(error.message).toBe("chat webhook answered 503");
      expect(error.message).not.toContain("SECRET");
    });
  });

  it("never quotes the webhook's error body, which may echo the message and its callback id", async () => {
    answers = [{ status: 400, body: `invalid_payload: ${callbackId}` }];
    const sending = createHttpDeps(config).approvals.askForDecision(ask());
    await expect(sending).rejects.toBeInstanceOf(ClientError);
    await sending.catch((error: Error) => expect(error.message).toBe("chat webhook answered 400"));
  });

  it("talks JSON to purchasing and the supplier, with the token and idempotency key", async () => {
    answers = [
      { status: 201, body: JSON.stringify({ reference: "PO-REQ-9" }) },
      {
        status: 200,
        body: JSON.stringify({ state: "SHIPPED", trackingNumber: "TRK-1", carrier: "new field" }),
      },
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

  // Each provider answer is parsed with a schema: garbage is a MalformedResponseError naming what was wrong
  // (retried with the same idempotency key, see retries.ts), never a value cast to the type we hoped for.
  it.each<[string, "submit" | "placeOrder" | "jobStatus", string, string]>([
    [
      "a plain-text body from submit",
      "submit",
      "ok",
      "POST purchase-requests answered with a body that is not JSON",
    ],
    [
      "an empty body from submit",
      "submit",
      "",
      "POST purchase-requests answered with a body that is not JSON",
    ],
    ["a reference of the wrong type", "submit", '{"reference":42}', "reference must be a string"],
    ["no job id", "placeOrder", "{}", "jobId is required"],
    ["a job id with markup", "placeOrder", '{"jobId":"<!here>"}', "jobId must be 1-64 letters"],
    ["null as a status", "jobStatus", "null", "body must be an object"],
    ["an unknown state", "jobStatus", '{"state":"DONE"}', "state"],
    ["SHIPPED with no tracking number", "jobStatus", '{"state":"SHIPPED"}', "trackingNumber is required"],
    [
      "an HTML error page",
      "jobStatus",
      "<html>502 Bad Gateway</html>",
      "answered with a body that is not JSON",
    ],
  ])("refuses %s", async (_label, call, body, problem) => {
    answers = [{ status: 200, body }];
    const deps = createHttpDeps(config);
    const answer =
      call === "submit"
        ? deps.purchasing.submit({ request: samplePurchase, idempotencyKey: "k" })
        : call === "placeOrder"
          ? deps.supplier.placeOrder({
              requestId: "PR-2042",
              supplier: "acme-office",
              description: "Standing desk",
              quantity: 2,
              amountCents: 129_900,
              currency: "EUR",
              idempotencyKey: "k",
            })
          : deps.supplier.jobStatus({ jobId: "j" });
    await expect(answer).rejects.toBeInstanceOf(MalformedResponseError);
    await expect(answer).rejects.toThrow(problem);
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

    // The same fingerprint the workflow logs, and no part of the id.
    expect(line).toBe(`approved ${redactCallbackId("Ab3dEf9hIj")} as u-dana`);
    expect(line).not.toContain("Ab3d");
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
