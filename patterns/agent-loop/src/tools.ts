import * as z from "zod/mini";
import { defaultMessages, describeIssues } from "./input";
import type { Order, SupportDeps } from "./deps";
import type { JsonObject, ToolResultBlock, ToolSpec, ToolUseBlock } from "./model";

/**
 * The tools the model may call. Each input schema is written once, in zod: it becomes the JSON Schema
 * the model is shown, and it validates what the model actually sends. Models do send wrong arguments;
 * those go back to the model as a tool error, not a failed execution.
 */
const orderId = z
  .string()
  .check(
    z.regex(/^order-\d{1,10}$/, 'must look like "order-1042"'),
    z.describe('The order id, for example "order-1042"'),
  );

const REFUND_REASONS = ["damaged", "not-delivered", "wrong-item", "changed-mind"] as const;

export const toolInputs = {
  lookup_order: z.strictObject({ orderId }),
  check_refund_policy: z.strictObject({
    orderId,
    reason: z
      .enum(REFUND_REASONS, `must be one of ${REFUND_REASONS.map((reason) => `"${reason}"`).join(", ")}`)
      .check(z.describe("Why the customer wants their money back")),
  }),
  issue_refund: z.strictObject({
    orderId,
    amountCents: z
      .number()
      .check(
        z.int("must be a whole number of cents"),
        z.positive("must be positive"),
        z.lte(100_000, "must be at most 100000 (1000.00); larger refunds go to a person"),
        z.describe("Amount to refund, in cents, at most what the policy allows"),
      ),
    reason: z
      .string()
      .check(
        z.minLength(3, "must be at least 3 characters"),
        z.maxLength(300, "must be at most 300 characters"),
        z.describe("One sentence for the approver"),
      ),
  }),
};

const descriptions: Record<ToolName, string> = {
  lookup_order: "Look up one of the customer's orders: status, items, prices.",
  check_refund_policy: "Check whether an order can be refunded for a reason, and up to what amount.",
  issue_refund: "Refund an order. A person must approve it first, which can take a while.",
};

export type ToolName = keyof typeof toolInputs;

export type ToolCall = {
  [Name in ToolName]: { name: Name; toolUseId: string; args: z.infer<(typeof toolInputs)[Name]> };
}[ToolName];

export const toolSpecs: ToolSpec[] = (Object.keys(toolInputs) as ToolName[]).map((name) => {
  const { $schema: _ignored, ...inputSchema } = z.toJSONSchema(toolInputs[name]);
  return { name, description: descriptions[name], inputSchema };
});

/**
 * Validates one tool call from the model. Pure and deterministic (it reads only the checkpointed model
 * reply), so it needs no step: on replay it gives the same answer.
 */
export function parseToolCall(
  use: ToolUseBlock,
): { ok: true; call: ToolCall } | { ok: false; error: ToolResultBlock } {
  if (!(use.name in toolInputs)) {
    const known = Object.keys(toolInputs).join(", ");
    return {
      ok: false,
      error: toolError(use.toolUseId, `Unknown tool "${use.name}". Available tools: ${known}.`),
    };
  }
  const name = use.name as ToolName;
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
  return order?.customerId === customerId ? order : undefined;
}

export async function lookupOrder(deps: SupportDeps, customerId: string, call: Call<"lookup_order">) {
  const order = await findCustomerOrder(deps, customerId, call.args.orderId);
  if (!order) return toolError(call.toolUseId, `No order ${call.args.orderId} found for this customer.`);
  const { customerId: _owner, ...visible } = order;
  return toolSuccess(call.toolUseId, visible);
}

export async function checkRefundPolicy(
  deps: SupportDeps,
  customerId: string,
  call: Call<"check_refund_policy">,
) {
  const order = await findCustomerOrder(deps, customerId, call.args.orderId);
  if (!order) return toolError(call.toolUseId, `No order ${call.args.orderId} found for this customer.`);
  const decision = await deps.refundPolicy.evaluate({ order, reason: call.args.reason });
  return toolSuccess(call.toolUseId, {
    orderId: order.orderId,
    reason: call.args.reason,
    currency: order.currency,
    ...decision,
  });
}

/**
 * The refund's own guard, before a person is asked: zod checked the shape of the model's arguments,
 * this checks their authority (the customer's own order, no more than was paid). A model can be
 * talked into asking for anything.
 */
export async function verifyRefund(
  deps: SupportDeps,
  customerId: string,
  call: Call<"issue_refund">,
): Promise<{ ok: true; currency: string } | { ok: false; problem: string }> {
  const { orderId, amountCents } = call.args;
  const order = await findCustomerOrder(deps, customerId, orderId);
  if (!order) return { ok: false, problem: `No order ${orderId} found for this customer.` };
  if (amountCents > order.totalCents) {
    return {
      ok: false,
      problem: `${amountCents} cents is more than the order's total of ${order.totalCents} cents.`,
    };
  }
  return { ok: true, currency: order.currency };
}

/** What the approver sends back through the callback. */
export const ApprovalDecision = z.object({
  approved: z.boolean(),
  approver: z.string().check(z.minLength(1)),
  note: z.optional(z.string()),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * Callback results arrive as the raw string the approver sent. Parsing is pure, so it needs no step;
 * an unreadable answer counts as "not approved" rather than as money sent.
 */
export function parseApprovalDecision(raw: string): ApprovalDecision {
  try {
    const parsed = ApprovalDecision.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  return { approved: false, approver: "unknown", note: `Unreadable approval answer: ${raw.slice(0, 100)}` };
}
