import type { Order, PolicyDecision, PriorRefund, RefundReason } from "./deps";
import { formatCents, isCents, MAX_PRIOR_REFUNDS, MAX_REFUND_CENTS } from "./money";

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
      /** Per order and position of the refund: see refundIdempotencyKey. */
      idempotencyKey: string;
    }
  | { allowed: false; problem: string };

/**
 * What the guard makes of the back office's facts: the most that may be refunded (the policy's maximum,
 * never above what the order cost) and what was already refunded. The guard checks the facts itself, even
 * from a custom back office that skips the schemas of src/back-office-answers.ts: an order answered for
 * another id, a total or maximum that is not a whole number of cents (NaN, Infinity, a float), a negative
 * ledger line (a reversal) or a ledger too long to sum is no basis for paying anything. A person checks.
 */
export function refundableNow(
  orderId: string,
  order: Order,
  policy: PolicyDecision,
  priorRefunds: PriorRefund[],
):
  | { ok: true; capCents: number; alreadyRefundedCents: number; remainingCents: number }
  | { ok: false; problem: string } {
  const untrusted = (what: string) => ({
    ok: false as const,
    problem: `The back office's answer for ${orderId} cannot be used (${what}), so nothing can be refunded here; a person must check this order.`,
  });
  if (order.orderId !== orderId) return untrusted("it describes another order");
  if (!isCents(order.totalCents)) return untrusted("the order total is not a whole number of cents");
  if (!isCents(policy.maxRefundCents))
    return untrusted("the policy's maximum is not a whole number of cents");
  if (!Array.isArray(priorRefunds) || priorRefunds.length > MAX_PRIOR_REFUNDS)
    return untrusted(`the refunds paid are not a list of at most ${MAX_PRIOR_REFUNDS}`);
  const odd = priorRefunds.find((refund) => !isCents(refund.amountCents, { min: 1 }));
  if (odd)
    return untrusted(`refund ${String(odd.refundId).slice(0, 100)} is not a positive whole number of cents`);
  const other = priorRefunds.find((refund) => refund.currency !== order.currency);
  if (other) {
    return untrusted(
      `refund ${String(other.refundId).slice(0, 100)} was paid in another currency than ${order.currency}`,
    );
  }
  const capCents = Math.min(policy.maxRefundCents, order.totalCents);
  const alreadyRefundedCents = sumCents(priorRefunds);
  return {
    ok: true,
    capCents,
    alreadyRefundedCents,
    remainingCents: Math.max(0, capCents - alreadyRefundedCents),
  };
}

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
  if (policy?.eligible !== true) {
    const why = policy ? `: ${String(policy.explanation).slice(0, 500)}` : "";
    return {
      allowed: false,
      problem: `The refund policy does not allow refunding ${orderId} for "${reason}"${why}`,
    };
  }
  // The tool's schema bounds the amount already; checked again because the guard takes nothing on trust.
  if (!isCents(amountCents, { min: 1, max: MAX_REFUND_CENTS })) {
    return {
      allowed: false,
      problem: `The amount must be a whole number of cents from 1 to ${MAX_REFUND_CENTS}.`,
    };
  }
  const checked = refundableNow(orderId, order, policy, priorRefunds);
  if (!checked.ok) return { allowed: false, problem: checked.problem };
  const { capCents: cap, alreadyRefundedCents: alreadyRefunded, remainingCents: remaining } = checked;
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
    idempotencyKey: refundIdempotencyKey(orderId, priorRefunds.length + 1),
  };
}

export type PaymentDecision =
  | { kind: "pay" }
  | { kind: "already-paid"; refundId: string }
  /** The key of this refund's position was used for a different refund: this one can never be paid under it. */
  | { kind: "position-taken"; problem: string }
  | { kind: "refunds-changed"; problem: string };

/**
 * Just before paying (in the payment step, possibly days after the verification), and again after a
 * payment attempt that failed: what do the refunds paid for the order say now? A refund under this very
 * key, for this amount, is this refund, paid by an earlier attempt whose answer was lost, or by another
 * execution that verified the same refund: it is not paid again. The same key for another amount is
 * another execution's refund at this position: this one is not paid. Any other change means the
 * verification no longer holds, so nothing is paid: the policy's maximum holds across executions.
 */
export function decidePayment(
  verified: Extract<RefundDecision, { allowed: true }>,
  paidNow: PriorRefund[],
): PaymentDecision {
  const money = (value: number) => formatCents(value, verified.currency);
  const notPaid = `so the approved ${money(verified.amountCents)} was not paid. Ask again if more is due.`;
  if (
    !Array.isArray(paidNow) ||
    paidNow.length > MAX_PRIOR_REFUNDS ||
    paidNow.some((r) => !isCents(r.amountCents, { min: 1 }))
  ) {
    return {
      kind: "refunds-changed",
      problem: `The back office's list of refunds for ${verified.orderId} cannot be used, ${notPaid}`,
    };
  }
  const same = paidNow.find((refund) => refund.idempotencyKey === verified.idempotencyKey);
  if (same) {
    if (same.amountCents === verified.amountCents && same.currency === verified.currency)
      return { kind: "already-paid", refundId: same.refundId };
    return {
      kind: "position-taken",
      problem: `Another refund of ${verified.orderId} (${formatCents(same.amountCents, same.currency)}) was paid since this refund was verified, ${notPaid}`,
    };
  }
  const totalNow = sumCents(paidNow);
  const { totalCents, refunds } = verified.priorRefunds;
  if (totalNow === totalCents && paidNow.length === refunds.length) return { kind: "pay" };
  return {
    kind: "refunds-changed",
    problem: `${verified.orderId} has been refunded ${money(totalNow)} since this refund was verified at ${money(totalCents)}, ${notPaid}`,
  };
}

/**
 * The payment's idempotency key names the order and the position of the refund in its ledger:
 * `order-1042:refund-1` for the first refund of the order. Not the tool call, and not the amount: every
 * execution, tool call or retry that verified a refund against the same ledger sends the same key, so the
 * provider pays at most one of them. The same refund again gets the first answer back; a different amount
 * under the key is refused by the provider (a provider that honours keys compares the request), and the
 * ledger shows the key taken. A later refund, verified after the first was paid, is the next position.
 */
export function refundIdempotencyKey(orderId: string, position: number): string {
  return `${orderId}:refund-${position}`;
}

function sumCents(refunds: PriorRefund[]): number {
  return refunds.reduce((sum, refund) => sum + refund.amountCents, 0);
}
