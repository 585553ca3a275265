import type { Order, PolicyDecision, PriorRefund, RefundReason } from "./deps";
import { formatCents } from "./money";

/**
 * The money guard. The model proposes a refund; this decides whether it may be paid and how much, from
 * what the workflow knows and the model cannot change: the order in the execution's input, the refund
 * policy's verdict, and the refunds the back office says were already paid. The model can be talked
 * into asking for anything (the customer's message is in its context); it cannot talk this code round.
 *
 * Pure functions on checkpointed data: the same answer on every replay.
 */

/** What the model asked for, after zod checked the shape of its arguments. */
export interface RefundProposal {
  orderId: string;
  amountCents: number;
  reason: RefundReason;
}

/**
 * This execution refunds only the order it was started for (the input's `orderId`, from the customer's
 * session), whatever order the model names: another customer's, or another of this customer's.
 */
export function refundTargetProblem(inputOrderId: string, proposal: RefundProposal): string | undefined {
  if (proposal.orderId === inputOrderId) return undefined;
  return `This conversation is about ${inputOrderId}; ${proposal.orderId} cannot be refunded here.`;
}

export type RefundDecision =
  | {
      allowed: true;
      orderId: string;
      amountCents: number;
      currency: string;
      reason: RefundReason;
      policy: { eligible: true; maxRefundCents: number; explanation: string };
      priorRefunds: { totalCents: number; refunds: PriorRefund[]; remainingAfterCents: number };
      /** Per order, the refunds already paid, and the amount: see refundIdempotencyKey. */
      idempotencyKey: string;
    }
  | { allowed: false; problem: string };

/**
 * Applies the policy to the proposal. The most that may be refunded is the policy's maximum, never above
 * what the order cost, minus every refund already paid for the order.
 */
export function decideRefund(
  proposal: RefundProposal,
  facts: { order: Order | undefined; policy: PolicyDecision | undefined; priorRefunds: PriorRefund[] },
): RefundDecision {
  const { order, policy, priorRefunds } = facts;
  const { orderId, amountCents, reason } = proposal;
  if (!order) return { allowed: false, problem: `No order ${orderId} found for this customer.` };
  if (!policy?.eligible) {
    const why = policy ? `: ${policy.explanation}` : "";
    return {
      allowed: false,
      problem: `The refund policy does not allow refunding ${orderId} for "${reason}"${why}`,
    };
  }
  const other = priorRefunds.find((refund) => refund.currency !== order.currency);
  if (other) {
    return {
      allowed: false,
      problem: `Refund ${other.refundId} of ${orderId} was paid in ${other.currency}, not ${order.currency}; a person must check this order.`,
    };
  }
  const cap = Math.min(policy.maxRefundCents, order.totalCents);
  const alreadyRefunded = priorRefunds.reduce((sum, refund) => sum + refund.amountCents, 0);
  const remaining = Math.max(0, cap - alreadyRefunded);
  const money = (value: number) => formatCents(value, order.currency);
  if (remaining === 0) {
    return {
      allowed: false,
      problem: `${orderId} was already refunded ${money(alreadyRefunded)}, the most the policy allows (${money(cap)}); nothing more can be refunded.`,
    };
  }
  if (amountCents > remaining) {
    return {
      allowed: false,
      problem:
        `${money(amountCents)} is more than can be refunded for ${orderId}: at most ${money(remaining)} ` +
        `(the policy allows ${money(cap)}, ${money(alreadyRefunded)} already refunded).`,
    };
  }
  return {
    allowed: true,
    orderId,
    amountCents,
    currency: order.currency,
    reason,
    policy: { eligible: true, maxRefundCents: cap, explanation: policy.explanation },
    priorRefunds: {
      totalCents: alreadyRefunded,
      refunds: priorRefunds,
      remainingAfterCents: remaining - amountCents,
    },
    idempotencyKey: refundIdempotencyKey(orderId, alreadyRefunded, amountCents),
  };
}

export type PaymentDecision =
  { kind: "pay" } | { kind: "already-paid"; refundId: string } | { kind: "refunds-changed"; problem: string };

/**
 * Just before paying (in the payment step, possibly days after the verification): has anything been
 * refunded for the order since? A refund under this very key is this refund, paid by an earlier attempt
 * whose answer was lost, or by another execution that verified the same refund: it is not paid again.
 * Any other change means the verification no longer holds (another execution paid a different amount
 * meanwhile), so nothing is paid: the policy's maximum holds across executions, not only within one.
 */
export function decidePayment(
  verified: Extract<RefundDecision, { allowed: true }>,
  paidNow: PriorRefund[],
): PaymentDecision {
  const same = paidNow.find((refund) => refund.idempotencyKey === verified.idempotencyKey);
  if (same) return { kind: "already-paid", refundId: same.refundId };
  const totalNow = paidNow.reduce((sum, refund) => sum + refund.amountCents, 0);
  if (totalNow === verified.priorRefunds.totalCents) return { kind: "pay" };
  const money = (value: number) => formatCents(value, verified.currency);
  return {
    kind: "refunds-changed",
    problem:
      `${verified.orderId} has been refunded ${money(totalNow)} since this refund was verified at ` +
      `${money(verified.priorRefunds.totalCents)}, so the approved ${money(verified.amountCents)} was not paid. Ask again if more is due.`,
  };
}

/**
 * The payment's idempotency key names the order, what had been refunded when the refund was verified,
 * and the amount: `order-1042:refund:0+2500`. Not the tool call: a second tool call, a second approval or
 * a second execution that verified the same refund before the first was paid sends the same key, and
 * the provider answers it with the first refund instead of paying again. A later refund of the rest,
 * verified after the first was paid, starts from a new total and gets a new key.
 */
export function refundIdempotencyKey(
  orderId: string,
  alreadyRefundedCents: number,
  amountCents: number,
): string {
  return `${orderId}:refund:${alreadyRefundedCents}+${amountCents}`;
}
