import * as z from "zod/mini";
import { defaultMessages, describeIssues } from "./input";
import {
  HttpSettingError,
  REFUND_REASONS,
  SecretSettingError,
  TransientServiceError,
  type Order,
  type SupportDeps,
} from "./deps";
import { MAX_REFUND_CENTS } from "./money";
import type { JsonObject, ToolResultBlock, ToolSpec, ToolUseBlock } from "./model";
import { toolJsonSchemas } from "./tool-json-schemas";
import { UnreadableAnswerError } from "./back-office-answers";
import {
  decidePayment,
  decideRefund,
  refundableNow,
  type PaymentDecision,
  type RefundDecision,
} from "./refund-decision";

/**
 * The tools the model may call. Each input schema is written in zod, which validates what the model actually
 * sends; the JSON Schema the model is shown (src/tool-json-schemas.ts) is held to it by a test. Models do send
 * wrong arguments; those go back to the model as a tool error, not a failed execution.
 */
const orderId = z
  .string()
  .check(
    z.regex(/^order-\d{1,10}$/, 'must look like "order-1042"'),
    z.describe('The order id, for example "order-1042"'),
  );

const reason = z
  .enum(REFUND_REASONS, `must be one of ${REFUND_REASONS.map((reason) => `"${reason}"`).join(", ")}`)
  .check(z.describe("Why the customer wants their money back"));

export const toolInputs = {
  lookup_order: z.strictObject({ orderId }),
  check_refund_policy: z.strictObject({ orderId, reason }),
  // Strict, like every tool: an `approved: true` or a `customerId` slipped into the arguments is refused.
  issue_refund: z.strictObject({
    orderId,
    reason,
    amountCents: z
      .number()
      .check(
        z.int("must be a whole number of cents"),
        z.positive("must be positive"),
        z.lte(
          MAX_REFUND_CENTS,
          `must be at most ${MAX_REFUND_CENTS} (1000.00); larger refunds go to a person`,
        ),
        z.describe("Amount to refund, in cents, at most what the policy allows"),
      ),
    noteForApprover: z
      .string()
      .check(
        z.minLength(3, "must be at least 3 characters"),
        z.maxLength(300, "must be at most 300 characters"),
        z.describe("One sentence for the approver, shown to them as written by you"),
      ),
  }),
};

const descriptions: Record<ToolName, string> = {
  lookup_order: "Look up one of the customer's orders: status, items, prices.",
  check_refund_policy:
    "Check whether an order can be refunded for a reason, up to what amount, and what was already refunded.",
  issue_refund: "Refund an order. A person must approve it first, which can take a while.",
};

export type ToolName = keyof typeof toolInputs;
const TOOL_NAMES = Object.keys(toolInputs) as [ToolName, ...ToolName[]];

/**
 * The tool name, as a schema: an enum of own keys, so "constructor", "toString" or "__proto__" (which `in`
 * finds on every object) are unknown tools, not a lookup of Object.prototype.
 */
const ToolNameSchema = z.enum(TOOL_NAMES);

export type ToolCall = {
  [Name in ToolName]: { name: Name; toolUseId: string; args: z.infer<(typeof toolInputs)[Name]> };
}[ToolName];

export const toolSpecs: ToolSpec[] = TOOL_NAMES.map((name) => ({
  name,
  description: descriptions[name],
  inputSchema: toolJsonSchemas[name],
}));

/**
 * Validates one tool call from the model. Pure and deterministic (it reads only the checkpointed model
 * reply), so it needs no step: on replay it gives the same answer.
 */
export function parseToolCall(
  use: ToolUseBlock,
): { ok: true; call: ToolCall } | { ok: false; error: ToolResultBlock } {
  const known = ToolNameSchema.safeParse(use.name);
  if (!known.success) {
    const name = String(use.name).slice(0, 64);
    return {
      ok: false,
      error: toolError(use.toolUseId, `Unknown tool "${name}". Available tools: ${TOOL_NAMES.join(", ")}.`),
    };
  }
  const name = known.data;
  const parsed = toolInputs[name].safeParse(use.input, { error: defaultMessages });
  if (!parsed.success) {
    const problems = describeIssues(parsed.error).join("; ");
    return {
      ok: false,
      error: toolError(use.toolUseId, `Invalid arguments for ${name}: ${problems}. Fix them and try again.`),
    };
  }
  return { ok: true, call: { name, toolUseId: use.toolUseId, args: parsed.data } as ToolCall };
}

export function toolSuccess(toolUseId: string, json: JsonObject): ToolResultBlock {
  return { type: "toolResult", toolUseId, status: "success", json };
}

export function toolError(toolUseId: string, text: string): ToolResultBlock {
  return { type: "toolResult", toolUseId, status: "error", text };
}

/** `lookup_order` in turn 2 → `tool-lookup-order-turn-2`; a second call of it in that turn → `...-turn-2-2`. */
export function toolStepName(name: string, turn: number, occurrence: number): string {
  const base = `tool-${name.replace(/[^A-Za-z0-9]+/g, "-").toLowerCase()}-turn-${turn}`;
  return occurrence === 1 ? base : `${base}-${occurrence}`;
}

// The tool bodies. Each runs inside a step (see workflow.ts), so it may call services and read clocks.
// A business "no" (unknown order, not eligible) is a normal result for the model, not an exception;
// exceptions are for faults the step should retry.

type Call<Name extends ToolName> = Extract<ToolCall, { name: Name }>;

/** Orders are looked up for the customer in the request, never one the model names for someone else. */
async function findCustomerOrder(
  deps: SupportDeps,
  customerId: string,
  orderId: string,
): Promise<Order | undefined> {
  const order = await deps.orders.find(orderId);
  if (!order) return undefined;
  // An answer about another order (a confused or hostile back office) is not this order's: it is never
  // shown as this order, nor the basis of a refund. Not retried: the same question gets the same answer.
  if (order.orderId !== orderId) {
    throw new UnreadableAnswerError(`The back office answered a look-up of ${orderId} with another order`);
  }
  return order.customerId === customerId ? order : undefined;
}

export async function lookupOrder(deps: SupportDeps, customerId: string, call: Call<"lookup_order">) {
  const order = await findCustomerOrder(deps, customerId, call.args.orderId);
  if (!order) return toolError(call.toolUseId, `No order ${call.args.orderId} found for this customer.`);
  const { customerId: _owner, ...visible } = order;
  return toolSuccess(call.toolUseId, visible);
}

/** The policy's verdict, with what was already refunded: the same facts the refund guard will apply. */
export async function checkRefundPolicy(
  deps: SupportDeps,
  customerId: string,
  call: Call<"check_refund_policy">,
) {
  const order = await findCustomerOrder(deps, customerId, call.args.orderId);
  if (!order) return toolError(call.toolUseId, `No order ${call.args.orderId} found for this customer.`);
  const policy = await deps.refundPolicy.evaluate({ order, reason: call.args.reason });
  const priorRefunds = await deps.orders.refundsPaid(order.orderId);
  // The same checks and sums as the refund guard: what the model is told is what the guard would allow.
  const refundable = refundableNow(call.args.orderId, order, policy, priorRefunds);
  if (!refundable.ok) return toolError(call.toolUseId, refundable.problem);
  const eligible = policy.eligible === true;
  return toolSuccess(call.toolUseId, {
    orderId: order.orderId,
    reason: call.args.reason,
    currency: order.currency,
    eligible,
    explanation: policy.explanation,
    maxRefundCents: eligible ? refundable.capCents : 0,
    alreadyRefundedCents: refundable.alreadyRefundedCents,
    refundableNowCents: eligible ? refundable.remainingCents : 0,
  });
}

/**
 * The facts the refund guard decides on, read fresh from the back office inside the verify step: the
 * order (this customer's only), the policy's verdict for the reason, and the refunds already paid. What
 * the model read earlier, or says it read, plays no part.
 */
export async function verifyRefund(
  deps: SupportDeps,
  customerId: string,
  call: Call<"issue_refund">,
): Promise<RefundDecision> {
  const { orderId, reason } = call.args;
  const order = await findCustomerOrder(deps, customerId, orderId);
  const policy = order ? await deps.refundPolicy.evaluate({ order, reason }) : undefined;
  const priorRefunds = order && policy?.eligible ? await deps.orders.refundsPaid(orderId) : [];
  return decideRefund(call.args, { order, policy, priorRefunds });
}

/**
 * Pays a verified refund, after checking that the refunds paid for the order are still the ones it was
 * verified against (src/refund-decision.ts). The provider gets the idempotency key: a retry of this step
 * after a lost answer, or a second execution racing this one, is answered with the first refund or refused.
 *
 * When the payment call fails, whatever the error (a 503, a reset, a TypeError from fetch, a custom
 * client's own error), one more read of the ledger settles what it can: a refund listed under this key for
 * this amount was paid; the key listed for another amount means this refund never will be. Otherwise the
 * error stands, and the step's retry policy decides: retried with the same key if transient, else in doubt.
 */
export async function payRefund(
  deps: SupportDeps,
  verified: Extract<RefundDecision, { allowed: true }>,
): Promise<{ paid: true; refundId: string } | { paid: false; problem: string }> {
  const ledgerBefore = await deps.orders.refundsPaid(verified.orderId).catch((error: unknown) => {
    throw restated("the ledger read before paying failed, so this attempt sent no payment", error);
  });
  const before = decidePayment(verified, ledgerBefore);
  if (before.kind !== "pay") return settled(before);
  try {
    const { refundId } = await deps.payments.refund({
      orderId: verified.orderId,
      amountCents: verified.amountCents,
      currency: verified.currency,
      reason: verified.reason,
      idempotencyKey: verified.idempotencyKey,
    });
    return { paid: true, refundId };
  } catch (error) {
    let lookedUp: string;
    try {
      const after = decidePayment(verified, await deps.orders.refundsPaid(verified.orderId));
      if (after.kind === "already-paid" || after.kind === "position-taken") return settled(after);
      lookedUp = `the ledger read after it does not list ${verified.idempotencyKey} (yet)`;
    } catch (ledgerError) {
      lookedUp = `the ledger read after it failed too (${messageOf(ledgerError)})`;
    }
    throw restated(`the payment call failed (${messageOf(error)}), and ${lookedUp}`, error, false);
  }
}

/**
 * A failure of the payment step, restated with what the attempt was doing when it failed: the step checkpoints
 * only the last attempt's error, and "GET .../refunds answered 503" alone reads as if the payment had not been
 * made. The class is kept (the retry policy and the workflow decide on it); a setting error stays as it is, since
 * its message names the setting and it was thrown before anything was sent.
 */
function restated(what: string, error: unknown, prefix = true): unknown {
  if (error instanceof SecretSettingError || error instanceof HttpSettingError) return error;
  const message = prefix ? `${what}: ${messageOf(error)}` : what;
  if (error instanceof TransientServiceError) return new TransientServiceError(message, error.status);
  const restatedError = new Error(message);
  restatedError.name = error instanceof Error ? error.name : "Error";
  return restatedError;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function settled(decision: Exclude<PaymentDecision, { kind: "pay" }>) {
  return decision.kind === "already-paid"
    ? { paid: true as const, refundId: decision.refundId }
    : { paid: false as const, problem: decision.problem };
}
