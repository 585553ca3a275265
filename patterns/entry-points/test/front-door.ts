import { WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, executionNameOf, type CheckoutOrder } from "../src";
import { sampleOrder, simulatedWorld, type WorldOptions } from "../src/demo";
import type { HttpRequest } from "../src/front-door/http";
import { LocalExecutions } from "../src/front-door/local-executions";
import { testConfig } from "./support";

/**
 * The front door against real local durable executions: one simulated world (its providers keep their
 * records), the workflow built on it, and LocalExecutions running each execution in LocalDurableTestRunner.
 */
export function frontDoorWorld(options: WorldOptions = {}, config = testConfig()) {
  const world = simulatedWorld(options);
  const executions = new LocalExecutions(() => createHandler(world.deps, config), ["payment-webhook"]);
  /** Starts an order and returns once its workflow waits for the webhook (the payment has been requested). */
  const startWaiting = async (order: CheckoutOrder) => {
    const name = executionNameOf(order.orderId);
    await executions.start(name, order);
    await executions.operation(name, "request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await executions.operation(name, "payment-webhook").waitForData(WaitingOperationStatus.STARTED);
    return name;
  };
  return { world, executions, startWaiting };
}

export const orderNumbered = (n: number): CheckoutOrder => ({ ...sampleOrder, orderId: `A-${2000 + n}` });

export function httpRequest(
  method: string,
  rawPath: string,
  body?: string,
  headers: Record<string, string> = {},
): HttpRequest {
  return {
    rawPath,
    requestContext: { http: { method } },
    isBase64Encoded: false,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body }),
  };
}

export const bodyOf = (response: { body: string }) => JSON.parse(response.body) as Record<string, unknown>;
