import { WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { createHandler, executionNameOf, type CheckoutOrder } from "../src";
import { sampleOrder, simulatedWorld, type WorldOptions } from "../src/demo";
import type { HttpRequest } from "../src/front-door/http";
import { LocalExecutions } from "../src/front-door/local-executions";
import { watchInvocations } from "./invocations";
import { testConfig } from "./support";

/**
 * The front door against real local durable executions: one simulated world (its providers keep their
 * records), the workflow built on it, and LocalExecutions running each execution in LocalDurableTestRunner.
 */
export function frontDoorWorld(options: WorldOptions = {}, config = testConfig()) {
  const world = simulatedWorld(options);
  // One handler for every execution of this world, watched: `suspended()` resolves once none is running.
  const invocations = watchInvocations(createHandler(world.deps, config));
  const executions = new LocalExecutions(() => invocations.handler, ["payment-webhook"]);
  /**
   * Starts an order and returns once its workflow has suspended on the webhook (the payment has been requested):
   * a webhook delivered then resumes it in a new invocation, as the provider's does (see test/invocations.ts).
   */
  const startWaiting = async (order: CheckoutOrder) => {
    const name = executionNameOf(order.orderId);
    await executions.start(name, order);
    await executions.operation(name, "request-payment").waitForData(WaitingOperationStatus.COMPLETED);
    await executions.operation(name, "payment-webhook").waitForData(WaitingOperationStatus.STARTED);
    await invocations.suspended();
    return name;
  };
  return { world, executions, startWaiting, suspended: invocations.suspended };
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
