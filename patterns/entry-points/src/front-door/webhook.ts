import type { CallbackRegistry } from "../deps";
import { checkPaymentEvent, unhandledEventType } from "../input";
import { SecretSettingError } from "../secret-setting";
import type { Executions } from "./executions";
import { header, json, problem, rawBody, type HttpRequest, type HttpResponse } from "./http";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "./signature";

export interface WebhookDeps {
  /** The signing secret (from Secrets Manager in the deployment). Undefined or empty: every delivery is refused. */
  secret: () => Promise<string | undefined>;
  callbacks: Pick<CallbackRegistry, "find">;
  executions: Pick<Executions, "completeCallback">;
  /** Seconds since the epoch; a parameter so tests can stand at a chosen moment. */
  nowSeconds?: () => number;
  toleranceSeconds?: number;
  /** Where the handler reports what it did. Never given a callback id, a secret or a signature. */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The payment provider's webhook. In this order: verify the signature over the raw bytes (before parsing
 * anything), parse the event, find the callback waiting for this order, complete it with the verified body.
 *
 * Deliveries are at least once and in any order: a repeat of a final event, or a final event after another,
 * finds the callback already closed and is acknowledged (200), so the provider stops retrying and nothing
 * happens twice. A non-final event (processing), or a well-formed event of a type this checkout does not
 * handle (a refund), is acknowledged and resumes nothing. What cannot be done now (the registry or Lambda
 * unavailable) is 503, so the provider delivers again later.
 */
export function createWebhookHandler(deps: WebhookDeps) {
  const now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const log = deps.log ?? ((message, fields) => console.log(JSON.stringify({ message, ...fields })));
  return async (request: HttpRequest): Promise<HttpResponse> => {
    if (request.requestContext.http.method.toUpperCase() !== "POST") return problem(405, "Use POST");
    const body = rawBody(request);
    if ("response" in body) return body.response;

    let secret: string | undefined;
    try {
      secret = await deps.secret();
    } catch (error) {
      // Fail closed: without the secret nothing can be verified, so nothing is accepted. 503 makes the
      // provider retry later, when the secret can be read again. A SecretSettingError names the setting and
      // what to fix, never the value; any other error is logged by name only.
      log("webhook secret unavailable", {
        problem: error instanceof SecretSettingError ? error.message : (error as Error | undefined)?.name,
      });
      return problem(503, "The webhook cannot verify deliveries right now; retry later");
    }
    const check = verifySignature({
      secret,
      signature: header(request, SIGNATURE_HEADER),
      timestamp: header(request, TIMESTAMP_HEADER),
      body: body.text,
      nowSeconds: now(),
      toleranceSeconds: deps.toleranceSeconds,
    });
    if (!check.ok) {
      log("webhook refused", { problem: check.problem });
      if (check.problem === "no secret configured")
        return problem(503, "The webhook is not configured; retry later");
      return problem(401, `Signature rejected: ${check.problem}`);
    }

    const event = checkPaymentEvent(body.text);
    if (!event.valid) {
      // Signed, well formed, and not ours (a refund, a dispute): acknowledged, so the provider stops retrying.
      const unhandled = unhandledEventType(body.text);
      if (unhandled !== undefined) {
        log("webhook event ignored: a type this checkout does not handle", { type: unhandled });
        return json(200, { action: `ignored: ${unhandled} is not handled here` });
      }
      return problem(400, "Invalid payment event", event.problems);
    }
    const { id, type, data } = event.value;
    if (type === "payment.processing") {
      return json(200, { received: id, action: "ignored: not a final event" });
    }

    let callbackId: string | undefined;
    try {
      callbackId = await deps.callbacks.find(data.merchantReference);
    } catch (error) {
      // Unknown is not "no payment waiting" (404 tells the provider to give up): 503, it delivers again later.
      log("callback registry unavailable", { eventId: id, error: (error as Error).name });
      return problem(503, "Could not look up the checkout right now; retry the delivery");
    }
    if (!callbackId) {
      log("webhook for an unknown payment", { eventId: id, orderId: data.merchantReference });
      return problem(404, `No payment is waiting for order ${data.merchantReference}`);
    }
    let completed: Awaited<ReturnType<Executions["completeCallback"]>>;
    try {
      // The verified bytes, unchanged: the workflow parses them again and checks them against its own record.
      completed = await deps.executions.completeCallback(callbackId, body.text);
    } catch {
      return problem(503, "Could not resume the checkout right now; retry the delivery");
    }
    log("webhook delivered", { eventId: id, orderId: data.merchantReference, type, outcome: completed });
    if (completed === "not-found")
      return problem(404, `No payment is waiting for order ${data.merchantReference}`);
    return json(200, {
      received: id,
      action: completed === "completed" ? "resumed the checkout" : "already settled: nothing to do",
    });
  };
}
