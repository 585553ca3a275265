import { createHandler } from "./index";
import {
  TransientServiceError,
  type ApprovalRequest,
  type Order,
  type PolicyDecision,
  type PriorRefund,
  type RefundInDoubtAlert,
  type RefundReason,
  type SupportDeps,
} from "./deps";
import type { SupportRequest } from "./input";
import type { ModelProvider } from "./model";
import {
  lastToolResults,
  questionOf,
  scriptedModel,
  type ModelFault,
  type ScriptStep,
} from "./scripted-model";
import { defaultConfig, type AgentConfig } from "./workflow";

/**
 * The simulated world for `pnpm demo agent-loop` and the tests: a back office in memory that records
 * every call and fails on request, and a scripted model that plays a sensible support agent.
 */
export const sampleOrders: Order[] = [
  {
    orderId: "order-1042",
    customerId: "cust-7",
    status: "delivered",
    placedOn: "2026-11-02",
    items: [{ sku: "MUG-BLUE", name: "Blue stoneware mug", quantity: 2, unitPriceCents: 1250 }],
    totalCents: 2500,
    currency: "EUR",
  },
  {
    orderId: "order-2001",
    customerId: "cust-9",
    status: "delivered",
    placedOn: "2026-10-30",
    items: [{ sku: "TEE-L", name: "Cotton tee, L", quantity: 1, unitPriceCents: 2400 }],
    totalCents: 2400,
    currency: "EUR",
  },
];

export const sampleRequest: SupportRequest = {
  customerId: "cust-7",
  orderId: "order-1042",
  question: "Both mugs from order-1042 arrived cracked. Can I get my money back?",
};

type Service = "orders" | "refundPolicy" | "payments" | "approvals" | "alerts";

/** The refund policy of the simulated back office: full refunds for a fault of ours, none for a change of mind. */
export function samplePolicy(order: Order, reason: RefundReason): PolicyDecision {
  return reason === "changed-mind"
    ? {
        eligible: false,
        maxRefundCents: 0,
        explanation: "Change-of-mind returns close 14 days after delivery.",
      }
    : {
        eligible: true,
        maxRefundCents: order.totalCents,
        explanation: `A ${reason} order is refunded in full.`,
      };
}

export interface WorldOptions {
  /** How many times each service answers "503" before it works. */
  outages?: Partial<Record<Service, number>>;
  /** How many times each service does what it was asked and then loses the answer (a reset connection). */
  lostAnswers?: Partial<Record<Service, number>>;
  /** The error a lost answer raises: by default what the real client makes of a reset connection. */
  lostAnswerError?: (service: Service) => Error;
  orders?: Order[];
  policy?: (order: Order, reason: RefundReason) => PolicyDecision;
  /** Lines the back office lists for an order besides the provider's refunds (paid elsewhere, a reversal). */
  ledger?: Record<string, PriorRefund[]>;
  /**
   * A back office that answers wrongly: another order for a look-up, a lagging or slow refund list. Each
   * gets what the honest back office would have answered. They may throw, as a custom client would.
   */
  answers?: {
    find?: (orderId: string, honest: Order | undefined) => Order | undefined;
    refundsPaid?: (orderId: string, honest: PriorRefund[]) => PriorRefund[] | Promise<PriorRefund[]>;
  };
  /** The approval service refuses every request with this error (it may echo the request, as some do). */
  approvalsFail?: (request: ApprovalRequest) => Error;
}

export interface Call {
  service: Service;
  detail: string;
}

/** One refund the payment provider paid, in its own books. */
export interface PaidRefund {
  refundId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  idempotencyKey: string;
}

/** The provider refuses a refund it will never pay (not retried): a reused key, more than was charged. */
export class RefundRefusedError extends Error {
  override readonly name = "RefundRefusedError";
}

export function simulatedWorld(options: WorldOptions = {}) {
  const calls: Call[] = [];
  const outages = new Map(Object.entries(options.outages ?? {}));
  const lostAnswers = new Map(Object.entries(options.lostAnswers ?? {}));
  const orders = new Map((options.orders ?? sampleOrders).map((order) => [order.orderId, order]));
  const policy = options.policy ?? samplePolicy;
  const approvalRequests: ApprovalRequest[] = [];
  // What people were told: the alerting service's own records.
  const alerts: RefundInDoubtAlert[] = [];
  // The payment provider's own books: what it paid, and how many requests it answered from a key it
  // already knew instead of paying. Tests assert on these, not on what the agent says it did.
  const provider = { refunds: [] as PaidRefund[], repeatsAnswered: 0 };

  const serve = async <T>(service: Service, detail: string, answer: () => T | Promise<T>): Promise<T> => {
    calls.push({ service, detail });
    const down = outages.get(service) ?? 0;
    if (down > 0) {
      outages.set(service, down - 1);
      throw new TransientServiceError(`${service} is unavailable (503)`, 503);
    }
    const result = await answer();
    const lost = lostAnswers.get(service) ?? 0;
    if (lost > 0) {
      // Done, but the caller cannot know it: the outcome is in doubt.
      lostAnswers.set(service, lost - 1);
      throw (
        options.lostAnswerError?.(service) ??
        new TransientServiceError(`${service}: connection reset before the answer arrived`)
      );
    }
    return result;
  };

  const deps: Omit<SupportDeps, "model"> = {
    orders: {
      find: (orderId) =>
        serve("orders", orderId, () => {
          const honest = orders.get(orderId);
          return options.answers?.find ? options.answers.find(orderId, honest) : honest;
        }),
      // The back office's record of refunds is the provider's (it sees every refund paid), after any
      // lines it holds from elsewhere.
      refundsPaid: (orderId) =>
        serve("orders", `${orderId} refunds`, () => {
          const honest: PriorRefund[] = [
            ...(options.ledger?.[orderId] ?? []),
            ...provider.refunds
              .filter((refund) => refund.orderId === orderId)
              .map(({ refundId, amountCents, currency, idempotencyKey }) => ({
                refundId,
                amountCents,
                currency,
                idempotencyKey,
              })),
          ];
          return options.answers?.refundsPaid ? options.answers.refundsPaid(orderId, honest) : honest;
        }),
    },
    refundPolicy: {
      evaluate: ({ order, reason }) =>
        serve("refundPolicy", `${order.orderId} ${reason}`, () => policy(order, reason)),
    },
    payments: {
      // As a real provider: a known key gets the first answer back (a different request under it is
      // refused), and no order is refunded more than it was charged.
      refund: ({ orderId, amountCents, currency, idempotencyKey }) =>
        serve("payments", `${orderId} ${amountCents}`, () => {
          const known = provider.refunds.find((refund) => refund.idempotencyKey === idempotencyKey);
          if (known) {
            if (known.orderId !== orderId || known.amountCents !== amountCents)
              throw new RefundRefusedError(`Idempotency key ${idempotencyKey} was used for another refund`);
            provider.repeatsAnswered += 1;
            return { refundId: known.refundId };
          }
          const charged = orders.get(orderId)?.totalCents ?? 0;
          const refunded = provider.refunds
            .filter((refund) => refund.orderId === orderId)
            .reduce((sum, refund) => sum + refund.amountCents, 0);
          if (refunded + amountCents > charged)
            throw new RefundRefusedError(
              `Refund of ${amountCents} exceeds what is left of the charge (${charged - refunded})`,
            );
          const refundId = `re-${orderId}-${provider.refunds.length + 1}`;
          provider.refunds.push({ refundId, orderId, amountCents, currency, idempotencyKey });
          return { refundId };
        }),
    },
    approvals: {
      requestApproval: (request) =>
        serve("approvals", `${request.orderId} ${request.amountCents}`, () => {
          if (options.approvalsFail) throw options.approvalsFail(request);
          approvalRequests.push(request);
        }),
    },
    alerts: {
      // One alert per key, as an incident tool that deduplicates does.
      refundInDoubt: (alert) =>
        serve("alerts", `${alert.orderId} ${alert.idempotencyKey}`, () => {
          if (!alerts.some((known) => known.idempotencyKey === alert.idempotencyKey)) alerts.push(alert);
        }),
    },
  };

  const callsTo = (service: Service) => calls.filter((call) => call.service === service).length;
  return { deps, calls, callsTo, approvalRequests, provider, alerts };
}

/**
 * The scripted support agent: find the order named in the question, check the policy, ask for the
 * refund, then tell the customer what happened. Every turn reacts to the tool results it is sent.
 */
export const supportScript: ScriptStep[] = [
  (request) => ({
    text: "Let me look at that order.",
    toolUses: [
      { name: "lookup_order", input: { orderId: /order-\d+/.exec(questionOf(request))?.[0] ?? "unknown" } },
    ],
  }),
  (request) => {
    const [found] = lastToolResults(request);
    if (found?.status !== "success")
      return { text: "I could not find that order. Could you check the order number?" };
    return {
      text: "Found it. Let me check what our refund policy says.",
      toolUses: [
        {
          name: "check_refund_policy",
          input: {
            orderId: found.json.orderId,
            reason: /changed my mind/i.test(questionOf(request)) ? "changed-mind" : "damaged",
          },
        },
      ],
    };
  },
  (request) => {
    const [policy] = lastToolResults(request);
    if (policy?.status !== "success" || policy.json.eligible !== true) {
      const why = policy?.status === "success" ? String(policy.json.explanation) : "the policy check failed";
      return { text: `I'm sorry, I cannot refund this order: ${why}` };
    }
    if (policy.json.refundableNowCents === 0)
      return { text: "This order has already been refunded in full." };
    return {
      text: "You are covered. I'm asking a colleague to approve the refund.",
      toolUses: [
        {
          name: "issue_refund",
          input: {
            orderId: policy.json.orderId,
            reason: policy.json.reason,
            amountCents: policy.json.refundableNowCents,
            noteForApprover: "Items arrived damaged",
          },
        },
      ],
    };
  },
  (request) => {
    const [refund] = lastToolResults(request);
    if (refund?.status !== "success")
      return { text: `I could not refund your order: ${refund?.text ?? "no answer"}` };
    const { refundId, amountCents, currency } = refund.json as {
      refundId: string;
      amountCents: number;
      currency: string;
    };
    return {
      text: `Done: ${(amountCents / 100).toFixed(2)} ${currency} is on its way back to you (reference ${refundId}).`,
    };
  },
];

export function supportModel(faults?: Record<number, ModelFault[]>) {
  return scriptedModel(supportScript, { faults });
}

export function simulatedDeps(model: ModelProvider = supportModel(), options: WorldOptions = {}) {
  const world = simulatedWorld(options);
  return { ...world, deps: { ...world.deps, model } satisfies SupportDeps };
}

/** Short enough that the demo never hangs: the approver below answers within milliseconds. */
export const demoConfig: AgentConfig = {
  ...defaultConfig,
  approvalTimeout: { seconds: 2 },
  refundApprover: "dana",
};

/** What `pnpm demo agent-loop` runs: four model turns (one throttled), three tools, and a refund a person approves. */
export const demo = {
  title: "Support agent: durable model turns and tool calls, a refund approved by a person",
  event: sampleRequest,
  // Bedrock throttles the second model call once: watch the step retry it with backoff.
  createHandler: () => createHandler(simulatedDeps(supportModel({ 2: ["throttled"] })).deps, demoConfig),
  actors: [
    {
      role: "support lead (dana)",
      operation: "approve-refund-order-1042",
      waitFor: "STARTED" as const,
      // The approval request goes out in the step after the callback is created.
      afterOperation: "request-approval-order-1042",
      replies: [{ succeed: { approved: true, approver: "dana", note: "Photo shows both mugs cracked" } }],
    },
  ],
};
