import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { withDurableExecution, type DurableLogger } from "@aws/durable-execution-sdk-js";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  OperationType,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { approvalRequestKey, createRealDeps, defaultConfig, runSupportAgent, type AgentResult } from "../src";
import { sampleOrders, sampleRequest, supportModel } from "../src/demo";
import { watchInvocations } from "./invocations";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// The callback id is a bearer token: whoever holds it can answer for the approver. It must reach the
// approver (in the body of the approval request) and the callback's own checkpoint, and nothing else: no
// header, no URL, no log line, no other checkpoint, no model request, no result. This runs the agent on
// its real back-office client against a back office on 127.0.0.1. Local only (scripted model).
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const seen: Seen[] = [];
let server: Server;
let baseUrl: string;
const order = sampleOrders[0]!;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const route = `${req.method} ${req.url}`;
      const answer: Record<string, [number, unknown]> = {
        "GET /orders/order-1042": [200, order],
        "GET /orders/order-1042/refunds": [200, { refunds: [] }],
        "POST /refund-policy": [
          200,
          { eligible: true, maxRefundCents: 2500, explanation: "Damaged: in full." },
        ],
        "POST /approvals": [202, undefined],
        "POST /refunds": [201, { refundId: "re-77" }],
      };
      const [status, payload] = answer[route] ?? [404, undefined];
      res.writeHead(status, { "content-type": "application/json" });
      res.end(payload === undefined ? "" : JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describeLocal("the callback id reaches the approver and its own checkpoint, nothing else", () => {
  it("is in no header, URL, log line, other checkpoint, model request or result", async () => {
    const lines: string[] = [];
    const record =
      (level: string) =>
      (...params: unknown[]) =>
        lines.push(`${level} ${JSON.stringify(params)}`);
    const customLogger: DurableLogger = {
      log: (level, ...params) => lines.push(`${String(level)} ${JSON.stringify(params)}`),
      error: record("ERROR"),
      warn: record("WARN"),
      info: record("INFO"),
      debug: record("DEBUG"),
    };
    const printed: string[] = [];
    const stdout = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });

    const model = supportModel();
    const deps = {
      ...createRealDeps(() => ({ backOfficeUrl: baseUrl, apiToken: async () => "token-1" })),
      model,
    };
    const config = { ...defaultConfig, approvalTimeout: { seconds: 30 }, refundApprover: "dana" };
    const invocations = watchInvocations(
      withDurableExecution(async (event: unknown, context) => {
        context.configureLogger({ customLogger, modeAware: false });
        return runSupportAgent(event, context, deps, config);
      }),
    );
    const runner = new LocalDurableTestRunner<AgentResult>({ handlerFunction: invocations.handler });
    const approval = runner.getOperation("approve-refund-order-1042");
    let result;
    try {
      const running = runner.run({ payload: sampleRequest });
      // The approval request is sent by its own step, after the callback exists.
      await runner.getOperation("request-approval-order-1042").waitForData(WaitingOperationStatus.COMPLETED);
      // The approver reads the id from the approval request, as the approval app would.
      const asked = seen.find((request) => request.url === "/approvals")!;
      const { callbackId } = JSON.parse(asked.body) as { callbackId: string };
      // A person answers after the execution has suspended on the callback (see test/invocations.ts).
      await invocations.suspended();
      await approval.sendCallbackSuccess(JSON.stringify({ approved: true, approver: "dana" }));
      result = await running;
      expect(callbackId).toBe(approval.getCallbackDetails()?.callbackId);
    } finally {
      stdout.mockRestore();
    }
    const callbackId = approval.getCallbackDetails()!.callbackId;
    expect(callbackId.length).toBeGreaterThan(8);
    const carries = (text: string) => text.includes(callbackId);

    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getResult()).toMatchObject({ status: "ANSWERED", answer: expect.any(String) as string });
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);

    // The wire: one body carries it, the approval request's. No header, no URL.
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      "GET /orders/order-1042",
      "GET /orders/order-1042",
      "POST /refund-policy",
      "GET /orders/order-1042/refunds",
      "GET /orders/order-1042",
      "POST /refund-policy",
      "GET /orders/order-1042/refunds",
      "POST /approvals",
      "GET /orders/order-1042/refunds",
      "POST /refunds",
    ]);
    expect(seen.filter((request) => carries(request.body)).map((request) => request.url)).toEqual([
      "/approvals",
    ]);
    for (const request of seen) {
      expect(carries(request.url)).toBe(false);
      expect(carries(JSON.stringify(request.headers))).toBe(false);
    }
    expect(seen.find((request) => request.url === "/approvals")!.headers["idempotency-key"]).toBe(
      approvalRequestKey(callbackId),
    );
    expect(seen.find((request) => request.url === "/refunds")!.headers["idempotency-key"]).toBe(
      "order-1042:refund-1",
    );

    // Logs: the workflow logged the approval request and its answer, without the id; nothing printed it.
    expect(lines.some((line) => line.includes("Asking for refund approval"))).toBe(true);
    expect(lines.some((line) => line.includes("Refund approval answered"))).toBe(true);
    expect(lines.filter(carries)).toEqual([]);
    expect(printed.filter(carries)).toEqual([]);

    // Checkpoints: only the callback operation itself carries it, and only its own history events.
    const carriers = result
      .getOperations()
      .filter((operation) => carries(JSON.stringify(operation.getOperationData())));
    expect(carriers.map((operation) => operation.getType())).toEqual([OperationType.CALLBACK]);
    const events = result.getHistoryEvents().filter((event) => carries(JSON.stringify(event)));
    expect(events.map((event) => event.EventType)).toEqual(["CallbackStarted"]);

    // The model and the result never see it.
    expect(model.calls.filter((call) => carries(JSON.stringify(call.request)))).toEqual([]);
    expect(carries(JSON.stringify(result.getResult()))).toBe(false);
  });
});
