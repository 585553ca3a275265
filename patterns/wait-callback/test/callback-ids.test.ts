import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ExecutionStatus,
  LocalDurableTestRunner,
  WaitingOperationStatus,
} from "@aws/durable-execution-sdk-js-testing";
import { createHttpDeps, type PurchaseOutcome } from "../src";
import { samplePurchase } from "../src/demo";
import { approve, handlerLoggingTo, managerGoesQuiet, recordingLogger, testConfig } from "./support";
import { watchInvocations } from "./invocations";
import { itLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// A callback id is a credential: it may reach only the person who must answer. This runs the whole workflow
// with the real HTTP dependencies against a server on 127.0.0.1 that plays chat, purchasing and the supplier,
// and looks for every callback id in everything that left the process: each request's headers and body, every
// log line, every checkpoint (the execution's history events) and the result.
// Local only (itLocal): the test reads the server's records, the logger and the local history.
interface Received {
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}
let server: Server;
let baseUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  await setupTestEnvironment({ skipTime: true });
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const url = request.url ?? "";
      received.push({ url, headers: request.headers, body });
      const answer = url.endsWith("/purchase-requests")
        ? { reference: "PO-REQ-PR-2042" }
        : url.endsWith("/orders")
          ? { jobId: "job-PR-2042" }
          : url.includes("/orders/")
            ? { state: "SHIPPED", trackingNumber: "TRK-1" }
            : {};
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await teardownTestEnvironment();
});

itLocal(
  "callback ids appear only in the messages to their approver and in their own callback's checkpoint",
  async () => {
    const logger = recordingLogger();
    const deps = createHttpDeps(() => ({
      chatWebhookUrl: async () => `${baseUrl}/chat`,
      approvalPageUrl: "https://approvals.example.com",
      purchasingUrl: `${baseUrl}/purchasing/`,
      supplierUrl: `${baseUrl}/supplier/`,
      apiToken: async () => "tok-1",
    }));
    const config = testConfig({
      ...managerGoesQuiet,
      director: { timeout: { seconds: 60 }, remindEvery: { days: 1 }, maxReminders: 2 },
    });
    const invocations = watchInvocations(handlerLoggingTo(logger, deps, config));
    const runner = new LocalDurableTestRunner<PurchaseOutcome>({ handlerFunction: invocations.handler });
    // The manager stays silent; the director is notified, reminded twice, and approves.
    const run = runner.run({ payload: samplePurchase });
    await runner.getOperation("remind-director-2").waitForData(WaitingOperationStatus.COMPLETED);
    const director = runner.getOperation("director-approval");
    await director.waitForData(WaitingOperationStatus.STARTED);
    // Sam answers once the execution has suspended on his callback (see test/invocations.ts).
    await invocations.suspended();
    await director.sendCallbackSuccess(approve("u-sam"));
    const result = await run;
    expect(result.getStatus()).toBe(ExecutionStatus.SUCCEEDED);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(2);

    const ids = {
      manager: runner.getOperation("ask-manager").getCallbackDetails()!.callbackId,
      director: director.getCallbackDetails()!.callbackId,
    };
    const chatTo = (name: string) =>
      received.filter(
        (request) =>
          request.url === "/chat" && (JSON.parse(request.body) as { text: string }).text.includes(`${name},`),
      );
    expect(chatTo("Dana")).toHaveLength(1);
    expect(chatTo("Sam")).toHaveLength(3);

    for (const [who, id] of Object.entries(ids)) {
      // The id as it is, and as it is written into a link.
      const forms = [id, encodeURIComponent(id)];
      const carries = (text: string) => forms.some((form) => text.includes(form));
      const mustCarry = chatTo(who === "manager" ? "Dana" : "Sam");

      expect(received.filter((request) => carries(request.body))).toEqual(mustCarry);
      expect(
        received.filter((request) => carries(JSON.stringify(request.headers)) || carries(request.url)),
      ).toEqual([]);
      expect(logger.lines.filter((line) => carries(JSON.stringify(line)))).toEqual([]);
      // The only checkpoint that holds it is the start of its own callback, where the service keeps it.
      const events = result.getHistoryEvents().filter((event) => carries(JSON.stringify(event)));
      expect(events.map((event) => event.EventType)).toEqual(["CallbackStarted"]);
      expect(events[0]!.CallbackStartedDetails?.CallbackId).toBe(id);
      expect(carries(JSON.stringify(result.getResult()))).toBe(false);
    }
    // The logs do tell the callbacks apart, by fingerprint.
    expect(logger.lines.some((line) => JSON.stringify(line).includes("callback#"))).toBe(true);
  },
);
