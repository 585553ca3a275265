import type { SQSEvent, SQSRecord } from "aws-lambda";
import { createStarterHandler, type Executions } from "../src";
import { sampleOrder } from "../src/demo";
import { frontDoorWorld, orderNumbered } from "./front-door";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: the starter starts local executions of the workflow on the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

const message = (messageId: string, body: string): SQSRecord =>
  ({ messageId, body, attributes: { ApproximateReceiveCount: "1" } }) as unknown as SQSRecord;
const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

describeLocal("the queue-fed starter", () => {
  it("starts one named execution per message and reports only the failures, each on its own", async () => {
    // Declined cards: every execution ends at once, so the test can read each one's end.
    const { world, executions } = frontDoorWorld({ declines: true });
    const logs: string[] = [];
    const starter = createStarterHandler({
      executions,
      log: (text, fields) => logs.push(JSON.stringify({ text, ...fields })),
    });
    await executions.start("order-A-2003", orderNumbered(3)); // already started over HTTP, with this body

    const response = await starter(
      batch(
        message("m-1", JSON.stringify(orderNumbered(1))),
        message("m-2", "{not json"),
        message("m-3", JSON.stringify({ ...orderNumbered(2), items: [] })),
        message("m-4", JSON.stringify(orderNumbered(3))),
        message("m-5", JSON.stringify({ ...orderNumbered(3), amountCents: 1 })),
        message("m-6", JSON.stringify(orderNumbered(1))), // the same order twice in one batch
      ),
    );

    // Poison (never startable) messages fail every receive until the redrive policy moves them to the DLQ.
    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: "m-2" },
      { itemIdentifier: "m-3" },
      { itemIdentifier: "m-5" },
    ]);
    // One execution per order, named by its business key: a repeat finds the execution already started.
    for (const name of ["order-A-2001", "order-A-2003"]) {
      expect(await executions.finished(name).then((result) => result.getResult())).toMatchObject({
        status: "CANCELLED",
      });
    }
    expect(await executions.describe("order-A-2002")).toBeUndefined();
    // The provider's own record: one payment request per order, however many messages carried it.
    expect(world.paymentRequests.map((request) => request.idempotencyKey).sort()).toEqual([
      "A-2001:payment",
      "A-2003:payment",
    ]);
    expect(logs.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      { text: "message not started", messageId: "m-2", problem: "the body is not JSON", poison: true },
      {
        text: "message not started",
        messageId: "m-3",
        problem: "items must have at least one item",
        poison: true,
      },
      {
        text: "message not started",
        messageId: "m-5",
        problem: "order A-2003 was started with a different body",
        poison: true,
      },
    ]);
    // Logs name the message, never its body.
    expect(logs.join("\n")).not.toContain(sampleOrder.customerId);
  });

  it("a transient failure to start fails only that message, which the queue delivers again", async () => {
    const { executions } = frontDoorWorld({ declines: true });
    let throttles = 1;
    const flaky: Pick<Executions, "start"> = {
      start: async (name, input) => {
        if (name === "order-A-2002" && throttles-- > 0) {
          throw Object.assign(new Error("Rate exceeded"), { name: "TooManyRequestsException" });
        }
        return executions.start(name, input);
      },
    };
    const starter = createStarterHandler({ executions: flaky, log: () => undefined });
    const records = [
      message("m-1", JSON.stringify(orderNumbered(1))),
      message("m-2", JSON.stringify(orderNumbered(2))),
    ];

    const first = await starter(batch(...records));
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: "m-2" }]);
    // The queue redelivers the whole batch's failures; the message that did start is not started twice.
    const second = await starter(batch(...records));
    expect(second.batchItemFailures).toEqual([]);
    await executions.finished("order-A-2001");
    await executions.finished("order-A-2002");
  });

  it("odd bodies (empty, null, a __proto__ key, 200 KB) are poison, each on its own, and never crash the batch", async () => {
    const { world, executions } = frontDoorWorld({ declines: true });
    const starter = createStarterHandler({ executions, log: () => undefined });

    const response = await starter(
      batch(
        message("m-empty", ""),
        message("m-null", "null"),
        message("m-proto", '{"__proto__":{"orderId":"A-2009"}}'),
        message("m-huge", JSON.stringify({ ...orderNumbered(4), customerId: "x".repeat(200_000) })),
        message("m-good", JSON.stringify(orderNumbered(1))),
      ),
    );

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      ["m-empty", "m-huge", "m-null", "m-proto"].sort(),
    );
    await executions.finished("order-A-2001");
    expect(world.paymentRequests.map((request) => request.idempotencyKey)).toEqual(["A-2001:payment"]);
    expect(await executions.describe("order-A-2004")).toBeUndefined();
    expect(await executions.describe("order-A-2009")).toBeUndefined();
  });
});
