import { createApiHandler, publicView } from "../src";
import { sampleOrder } from "../src/demo";
import { bodyOf, frontDoorWorld, httpRequest } from "./front-door";
import { describeLocal, setupTestEnvironment, teardownTestEnvironment } from "./target";

// Local only: the API starts local executions of the workflow on the simulated world.
beforeAll(() => setupTestEnvironment({ skipTime: true }));
afterAll(() => teardownTestEnvironment());

function setUp() {
  const door = frontDoorWorld({ declines: true }); // executions end at once: nothing is left running
  return { ...door, api: createApiHandler({ executions: door.executions }) };
}

describeLocal("POST /orders: bad input is refused before anything starts", () => {
  it.each<[string, string | undefined, number, string]>([
    ["no body", undefined, 400, "The body is empty"],
    ["malformed JSON", '{"orderId": "A-1",', 400, "The body is not valid JSON"],
    ["a JSON array", "[]", 422, "order must be an object"],
    ["no order id", JSON.stringify({ ...sampleOrder, orderId: undefined }), 422, "orderId is required"],
    [
      "an order id with a slash",
      JSON.stringify({ ...sampleOrder, orderId: "A/1" }),
      422,
      "orderId must be 3-48",
    ],
    [
      "a quantity of zero",
      JSON.stringify({ ...sampleOrder, items: [{ sku: "KETTLE-01", quantity: 0 }] }),
      422,
      "items[0].quantity must be at least 1",
    ],
    [
      "an oversized body",
      JSON.stringify({ ...sampleOrder, note: "x".repeat(20_000) }),
      413,
      "larger than 16384 bytes",
    ],
    [
      "a body over 16 KB in bytes, not characters (6,000 euro signs)",
      JSON.stringify({ ...sampleOrder, customerId: "€".repeat(6000) }),
      413,
      "larger than 16384 bytes",
    ],
    ["JSON null", "null", 422, "order must be an object"],
    ["a number", "1", 422, "order must be an object"],
    ["a string", '"A-1001"', 422, "order must be an object"],
    [
      "an amount past Number.MAX_SAFE_INTEGER",
      JSON.stringify(sampleOrder).replace('"amountCents":8950', '"amountCents":9007199254740993'),
      422,
      "amountCents must be at most 1000000",
    ],
    [
      "a negative amount",
      JSON.stringify({ ...sampleOrder, amountCents: -1 }),
      422,
      "amountCents must be positive",
    ],
    [
      "an amount of 1e400 (Infinity once parsed)",
      JSON.stringify(sampleOrder).replace('"amountCents":8950', '"amountCents":1e400'),
      422,
      "amountCents must be a number",
    ],
    [
      "a __proto__ key",
      JSON.stringify(sampleOrder).replace("{", '{"__proto__":{"amountCents":1},'),
      422,
      "order has unknown fields: __proto__",
    ],
    [
      "a constructor key",
      JSON.stringify(sampleOrder).replace("{", '{"constructor":{"prototype":{"x":1}},'),
      422,
      "order has unknown fields: constructor",
    ],
    [
      "an order id of spaces",
      JSON.stringify({ ...sampleOrder, orderId: "      " }),
      422,
      "orderId must be 3-48",
    ],
    ["no items", JSON.stringify({ ...sampleOrder, items: [] }), 422, "items must have at least one item"],
    [
      "a customer id of spaces",
      JSON.stringify({ ...sampleOrder, customerId: "   " }),
      422,
      "customerId must not be blank",
    ],
    [
      "a customer id with a newline, NUL and a right-to-left override",
      JSON.stringify({ ...sampleOrder, customerId: "C-1\n\u0000\u202eevil" }),
      422,
      "customerId must not contain control or invisible formatting characters",
    ],
  ])("%s: %d", async (_label, body, status, message) => {
    const { api, executions, world } = setUp();
    const response = await api(httpRequest("POST", "/orders", body));

    expect(response.statusCode).toBe(status);
    expect(response.body).toContain(message);
    // Nothing started: no execution under the sample's name, no payment asked for.
    expect(await executions.describe("order-A-1001")).toBeUndefined();
    expect(world.paymentRequests).toEqual([]);
  });

  it("a base64-encoded body (as Function URLs send binary content) is read like any other", async () => {
    const { api, executions } = setUp();
    const response = await api({
      ...httpRequest("POST", "/orders", Buffer.from(JSON.stringify(sampleOrder)).toString("base64")),
      isBase64Encoded: true,
    });
    expect(response.statusCode).toBe(202);
    await executions.finished("order-A-1001");
  });

  it("the 16 KB limit counts decoded bytes: a 14 KB order sent base64 (19 KB on the wire) starts", async () => {
    const { api, executions, world } = setUp();
    const json = JSON.stringify(sampleOrder);
    // JSON whitespace: still the same order, 14 KB of it.
    const padded = json.replace('"orderId"', `${" ".repeat(14 * 1024 - json.length)}"orderId"`);
    const response = await api({
      ...httpRequest("POST", "/orders", Buffer.from(padded).toString("base64")),
      isBase64Encoded: true,
    });
    expect(response.statusCode).toBe(202);
    await executions.finished("order-A-1001");
    expect(world.paymentRequests).toHaveLength(1);
  });
});

describeLocal("routes and the status", () => {
  it.each([
    ["GET", "/orders/A-404", 404, "No order A-404"],
    ["GET", "/orders/bad%20id", 400, "The order id must be"],
    ["GET", "/orders/..%2F..%2Fsecrets", 400, "The order id must be"],
    ["GET", `/orders/${"A".repeat(500)}`, 400, "The order id must be"],
    ["GET", "/orders/A%00B", 400, "The order id must be"],
    ["GET", "/orders/%20%20%20", 400, "The order id must be"],
    ["GET", "/orders/A-1001/extra", 404, "Not found"],
    ["DELETE", "/orders/A-1001", 405, "Use GET /orders/{orderId}"],
    ["GET", "/orders", 405, "Use POST /orders"],
    ["GET", "/admin", 404, "Not found"],
  ])("%s %s: %d", async (method, path, status, message) => {
    const { api } = setUp();
    const response = await api(httpRequest(method, path));
    expect(response.statusCode).toBe(status);
    expect(response.body).toContain(message);
  });

  it("the same order id with another body is a conflict (409), and the first execution is untouched", async () => {
    const { api, executions, world } = setUp();
    expect((await api(httpRequest("POST", "/orders", JSON.stringify(sampleOrder)))).statusCode).toBe(202);
    const conflict = await api(
      httpRequest("POST", "/orders", JSON.stringify({ ...sampleOrder, amountCents: 1 })),
    );

    expect(conflict.statusCode).toBe(409);
    // Nothing of the first order's body: whoever holds an order id learns nothing from it.
    expect(conflict.body).not.toMatch(/8950|c-ada|KETTLE/);
    expect(bodyOf(conflict).error).toBe(
      "Order A-1001 was already started with a different body; send the original body to read it, or use a new order id",
    );
    await executions.finished("order-A-1001");
    expect(world.paymentRequests).toHaveLength(1);
    expect(world.paymentOf("A-1001")).toBeUndefined(); // declined: the provider made none
  });

  it("the same body with its keys in another order is the same order, not a conflict", async () => {
    const { api, executions } = setUp();
    await api(httpRequest("POST", "/orders", JSON.stringify(sampleOrder)));
    const reordered = Object.fromEntries(Object.entries(sampleOrder).reverse());
    const again = await api(httpRequest("POST", "/orders", JSON.stringify(reordered)));
    expect(again.statusCode).toBe(202);
    expect(bodyOf(again).repeated).toBe(true);
    await executions.finished("order-A-1001");
  });

  it.each([
    ["TooManyRequestsException", "Rate exceeded for arn:aws:lambda:eu-west-1:123456789012:function:x:live"],
    [
      "AccessDeniedException",
      "User: arn:aws:sts::123456789012:assumed-role/api-role/x is not authorized to perform: " +
        "lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:123456789012:function:checkout:live",
    ],
  ])(
    "Lambda refuses the start (%s): 503 with Retry-After, and nothing of the error leaks",
    async (name, message) => {
      const api = createApiHandler({
        executions: {
          start: async () => {
            throw Object.assign(new Error(message), { name });
          },
          describe: async () => undefined,
        },
      });
      const response = await api(httpRequest("POST", "/orders", JSON.stringify(sampleOrder)));
      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject({ "retry-after": "2" });
      expect(response.body).not.toMatch(/arn:|123456789012|api-role|checkout:live/);
    },
  );
});

describe("publicView: status and outcome, no internals", () => {
  it.each([
    [
      { name: "order-A-1", status: "RUNNING" as const },
      { orderId: "A-1", status: "RUNNING" },
    ],
    [
      { name: "order-A-1", status: "SUCCEEDED" as const, result: { status: "FULFILLED" } },
      { orderId: "A-1", status: "SUCCEEDED", outcome: { status: "FULFILLED" } },
    ],
    [
      {
        name: "order-A-1",
        status: "FAILED" as const,
        error: { type: "InvalidCheckoutOrderError", message: "Invalid checkout order: items ..." },
      },
      {
        orderId: "A-1",
        status: "FAILED",
        error: { type: "InvalidCheckoutOrderError", message: "Invalid checkout order: items ..." },
      },
    ],
    [
      {
        name: "order-A-1",
        status: "FAILED" as const,
        error: {
          type: "TypeError",
          message: "Cannot read properties of undefined (at /var/task/index.js:1)",
        },
      },
      {
        orderId: "A-1",
        status: "FAILED",
        error: {
          type: "CheckoutFailed",
          message: "The checkout did not complete; quote order A-1 to support",
        },
      },
    ],
    [
      { name: "order-A-1", status: "TIMED_OUT" as const },
      {
        orderId: "A-1",
        status: "TIMED_OUT",
        error: {
          type: "CheckoutFailed",
          message: "The checkout did not complete; quote order A-1 to support",
        },
      },
    ],
    [
      {
        name: "order-A-1",
        status: "SUCCEEDED" as const,
        result: {
          orderId: "A-1",
          status: "FULFILLED",
          paymentId: "pay_A11",
          shipmentId: "shp_1",
          confirmedBy: "webhook",
          callbackId: "cb-secret-token",
          executionArn: "arn:aws:lambda:eu-west-1:123456789012:function:checkout:live/durable-execution/x/1",
        },
      },
      // Listed fields only: a credential or an ARN a future result might carry stays out.
      {
        orderId: "A-1",
        status: "SUCCEEDED",
        outcome: {
          orderId: "A-1",
          status: "FULFILLED",
          paymentId: "pay_A11",
          shipmentId: "shp_1",
          confirmedBy: "webhook",
        },
      },
    ],
  ])("%j", (execution, expected) => {
    expect(publicView("A-1", execution)).toEqual(expected);
  });

  it.each(["FAILED", "TIMED_OUT", "STOPPED"] as const)(
    "%s with an internal error shows none of it, whatever the message pretends to be",
    (status) => {
      for (const error of [
        {
          type: "PaidNotShippedError",
          message:
            "pay_abc123 for A-1; ship it or refund it by hand; arn:aws:lambda:eu-west-1:123456789012:function:checkout",
        },
        { type: "StepError", message: "connect ECONNREFUSED 10.0.3.7:443 https://payments.internal/v1" },
        { type: "Error", message: "InvalidCheckoutOrderError: pretend" },
      ]) {
        expect(publicView("A-1", { name: "order-A-1", status, error }).error).toEqual({
          type: "CheckoutFailed",
          message: "The checkout did not complete; quote order A-1 to support",
        });
      }
    },
  );
});
