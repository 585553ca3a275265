import { ExecutionStatus } from "@aws/durable-execution-sdk-js-testing";
import {
  createApiHandler,
  createWebhookHandler,
  signPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
} from "../src";
import { sampleOrder } from "../src/demo";
import { startLocalServer } from "../src/front-door/local-server";
import { frontDoorWorld } from "./front-door";
import { TEST_SECRET } from "./support";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: a real HTTP server on 127.0.0.1 in front of local durable executions.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

describeLocal("the front door over HTTP on 127.0.0.1", () => {
  it("a client and the provider talk to it as they would to the Function URLs", async () => {
    const { world, executions } = frontDoorWorld();
    const server = await startLocalServer({
      api: createApiHandler({ executions }),
      webhook: createWebhookHandler({
        secret: async () => TEST_SECRET,
        callbacks: world.deps.callbacks,
        executions,
        log: () => undefined,
      }),
    });
    try {
      const post = () =>
        fetch(`${server.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(sampleOrder),
        });
      const first = await post();
      const again = await post();
      expect([first.status, again.status]).toEqual([202, 202]);
      expect(first.headers.get("location")).toBe("/orders/A-1001");

      await executions.operation("order-A-1001", "request-payment").waitForData();
      await executions.operation("order-A-1001", "payment-webhook").waitForData();
      const running = await fetch(`${server.url}/orders/A-1001`);
      expect(await running.json()).toEqual({ orderId: "A-1001", status: "RUNNING" });

      // The provider's delivery: the raw body, signed over the timestamp and the body.
      const body = JSON.stringify(world.settle("A-1001", "succeeded"));
      const timestamp = Math.floor(Date.now() / 1000);
      const forged = await fetch(`${server.url}/webhooks/payments`, {
        method: "POST",
        headers: {
          [SIGNATURE_HEADER]: signPayload("not-the-secret", timestamp, body),
          [TIMESTAMP_HEADER]: String(timestamp),
        },
        body,
      });
      const signed = await fetch(`${server.url}/webhooks/payments`, {
        method: "POST",
        headers: {
          [SIGNATURE_HEADER]: signPayload(TEST_SECRET, timestamp, body),
          [TIMESTAMP_HEADER]: String(timestamp),
        },
        body,
      });
      expect([forged.status, signed.status]).toEqual([401, 200]);

      expect((await executions.finished("order-A-1001")).getStatus()).toBe(ExecutionStatus.SUCCEEDED);
      const done = (await (await fetch(`${server.url}/orders/A-1001`)).json()) as {
        outcome: { status: string };
      };
      expect(done.outcome.status).toBe("FULFILLED");

      expect(server.exchanges.map(({ method, path, status }) => `${method} ${path} ${status}`)).toEqual([
        "POST /orders 202",
        "POST /orders 202",
        "GET /orders/A-1001 200",
        "POST /webhooks/payments 401",
        "POST /webhooks/payments 200",
        "GET /orders/A-1001 200",
      ]);
      expect(world.shipments).toHaveLength(1);
      expect(server.exchanges.map((exchange) => exchange.response).join("\n")).not.toContain(
        world.registry.get("A-1001")!,
      );
    } finally {
      await server.close();
    }
  });
});
