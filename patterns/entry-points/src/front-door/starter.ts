import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { CheckoutOrder, describeIssues, executionNameOf, plainTypeErrors } from "../input";
import type { Executions } from "./executions";

export interface StarterDeps {
  executions: Pick<Executions, "start">;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The queue-fed door. An event source mapping invokes this function synchronously, and would do the same to a
 * durable function: the whole execution would then have to finish within 15 minutes. So this plain function
 * starts one named execution per message asynchronously and returns at once; the execution runs for as long
 * as its own timeout allows.
 *
 * Each message's outcome is reported on its own (ReportBatchItemFailures): a transient failure is retried
 * alone, and a message that can never start (not JSON, not an order, an order id taken by another body) fails
 * every receive until the queue's redrive policy moves it to the dead-letter queue.
 */
export function createStarterHandler(deps: StarterDeps) {
  const log = deps.log ?? ((message, fields) => console.log(JSON.stringify({ message, ...fields })));
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failures = await Promise.all(
      event.Records.map(async (record) => {
        const outcome = await startOne(record.body);
        if (outcome.ok) return undefined;
        // The message id and the problem; never the body, which may carry customer data.
        log("message not started", {
          messageId: record.messageId,
          problem: outcome.problem,
          poison: outcome.poison,
        });
        return { itemIdentifier: record.messageId };
      }),
    );
    return { batchItemFailures: failures.filter((failure) => failure !== undefined) };
  };

  async function startOne(
    body: string,
  ): Promise<{ ok: true } | { ok: false; problem: string; poison: boolean }> {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return { ok: false, problem: "the body is not JSON", poison: true };
    }
    const order = CheckoutOrder.safeParse(json, { error: plainTypeErrors });
    if (!order.success) {
      return { ok: false, problem: describeIssues(order.error, "order").join("; "), poison: true };
    }
    try {
      // The business key names the execution: a redelivered message (or the same order sent over HTTP)
      // finds the execution already started instead of starting a second one.
      const started = await deps.executions.start(executionNameOf(order.data.orderId), order.data);
      if (started === "conflict") {
        return {
          ok: false,
          problem: `order ${order.data.orderId} was started with a different body`,
          poison: true,
        };
      }
      return { ok: true };
    } catch (error) {
      return { ok: false, problem: `start failed: ${(error as Error).name}`, poison: false };
    }
  }
}
