import {
  StepInterruptedError,
  StepSemantics,
  withDurableExecution,
  type DurableContext,
  type DurableLambdaHandler,
  type RetryDecision,
} from "@aws/durable-execution-sdk-js";
import * as z from "zod/mini";
import { ChargeAnswer, ChargeLookUpAnswer, PaymentAnswer } from "./answers";
import { outcomeOfFailedCharge, ProviderRejectedError, ProviderUnavailableError } from "./call-outcome";
import { callJson, readToken } from "./deps";
import { safeText, withSafeErrors } from "./error-text";
import { Amount, Currency, describeIssues, plainTypeErrors, required } from "./input";
import { chargeOutageRetry, lookUpRetry, waitBeforeChargeLookUp } from "./retry-policies";
import { secretSetting } from "./secret-setting";

/**
 * The payment function: its own durable function, owned and deployed apart from the trip saga, which calls it
 * with `context.invoke`. It charges a card exactly as asked, with the idempotency key the caller derived, and
 * never charges twice on its own initiative.
 */
export const PaymentRequestInput = z.object({
  bookingId: required,
  customerId: required,
  amountCents: Amount,
  currency: Currency,
  idempotencyKey: required,
});
export type PaymentRequest = z.infer<typeof PaymentRequestInput>;

/**
 * What the payment function answers: whether the customer was charged, settled as far as it can be.
 * - CHARGED: the gateway charged (its answer, or the look-up by key after an outcome in doubt).
 * - DECLINED: nothing was charged (the card was declined, the gateway refused before acting, or the look-up
 *   by key found no charge).
 * - IN_DOUBT: the charge may have happened and the look-up could not tell. The saga refunds by key or reports it.
 * The schema is src/answers.ts's PaymentAnswer: the saga parses what comes back with it (`paymentOutcome`).
 */
export type PaymentResult = z.infer<typeof PaymentAnswer>;

/**
 * The saga's reading of the payment function's answer. An answer is input, not a yes: it must have one of the
 * three shapes, and a charge must be for exactly the amount and currency asked. Anything else is IN_DOUBT, so
 * the refund stays registered and settles it by key (nothing found, nothing refunded; another amount, reported).
 */
export function paymentOutcome(
  answer: unknown,
  asked: { amountCents: number; currency: string },
): PaymentResult {
  const parsed = PaymentAnswer.safeParse(answer);
  if (!parsed.success) {
    return {
      status: "IN_DOUBT",
      reason: `the payment function answered something unexpected: ${safeText(JSON.stringify(answer) ?? String(answer), 200)}`,
    };
  }
  const result = parsed.data;
  if (
    result.status === "CHARGED" &&
    (result.amountCents !== asked.amountCents || result.currency !== asked.currency)
  ) {
    return {
      status: "IN_DOUBT",
      reason: `the payment function answered CHARGED ${result.chargeId} for ${result.amountCents} ${safeText(result.currency, 8)}, not ${asked.amountCents} ${asked.currency}`,
    };
  }
  return result;
}

export interface PaymentGateway {
  charge(request: PaymentRequest): Promise<{ chargeId: string }>;
  /** The charge made under this idempotency key, or undefined when the gateway holds none. */
  findCharge(request: {
    idempotencyKey: string;
  }): Promise<
    { chargeId: string; status: "charged" | "refunded"; amountCents: number; currency: string } | undefined
  >;
}

export interface PaymentDeps {
  gateway: PaymentGateway;
}

export class InvalidPaymentRequestError extends Error {
  override readonly name = "InvalidPaymentRequestError";
  constructor(readonly problems: string[]) {
    super(`Invalid payment request: ${problems.join("; ")}`);
  }
}

export async function chargeForBooking(
  event: unknown,
  context: DurableContext,
  deps: PaymentDeps,
): Promise<PaymentResult> {
  const parsed = PaymentRequestInput.safeParse(event, { error: plainTypeErrors });
  if (!parsed.success) throw new InvalidPaymentRequestError(describeIssues(parsed.error));
  const request = parsed.data;
  // Whatever the gateway throws is checkpointed (the step's error, the answer's reason): bounded, no credentials.
  const gateway = withSafeErrors(deps.gateway);

  // At most once per retry: the SDK checkpoints the start of each attempt before calling the gateway. If the
  // sandbox dies mid-charge, the replay finds an attempt that started and never finished, and hands the retry
  // strategy a StepInterruptedError instead of silently charging again. Only outages are retried here.
  let doubt: string;
  try {
    const { chargeId } = await context.step("charge-card", () => gateway.charge(request), {
      semantics: StepSemantics.AtMostOncePerRetry,
      retryStrategy: chargeRetryStrategy,
    });
    return {
      status: "CHARGED",
      chargeId,
      amountCents: request.amountCents,
      currency: request.currency,
      settledBy: "charge",
    };
  } catch (error) {
    if (outcomeOfFailedCharge(error) === "not-done")
      return { status: "DECLINED", reason: (error as Error).message };
    doubt = (error as Error).message;
  }

  // In doubt (a timeout, a reset, a 5xx that does not say nothing happened, a crash mid-charge): settled by
  // looking the charge up by its key, never by charging again and never by guessing.
  context.logger.warn("Charge outcome in doubt; looking it up by its key", {
    idempotencyKey: request.idempotencyKey,
    doubt,
  });
  await context.wait("wait-before-look-up", waitBeforeChargeLookUp);
  try {
    const found = await context.step(
      "look-up-charge",
      () => gateway.findCharge({ idempotencyKey: request.idempotencyKey }),
      { retryStrategy: lookUpRetry },
    );
    if (found && (found.amountCents !== request.amountCents || found.currency !== request.currency)) {
      // An answer is input, not a yes: a charge under our key for another amount is for people to look at.
      return {
        status: "IN_DOUBT",
        reason: `charge ${found.chargeId} under ${request.idempotencyKey} is for ${found.amountCents} ${found.currency}, not ${request.amountCents} ${request.currency}`,
      };
    }
    if (found?.status === "charged") {
      return {
        status: "CHARGED",
        chargeId: found.chargeId,
        amountCents: request.amountCents,
        currency: request.currency,
        settledBy: "look-up",
      };
    }
    return {
      status: "DECLINED",
      reason: found
        ? `charge ${found.chargeId} under ${request.idempotencyKey} was already refunded`
        : `no charge under ${request.idempotencyKey} after an outcome in doubt (${doubt})`,
    };
  } catch (lookUpError) {
    return {
      status: "IN_DOUBT",
      reason: `charge ${request.idempotencyKey} in doubt (${doubt}); look-up failed: ${(lookUpError as Error).message}`,
    };
  }
}

/**
 * Retry only what the gateway told us it did not do (unavailable, throttled, never sent). Never retry an
 * interrupted attempt or an answer in doubt (they go to the look-up), nor a decline.
 */
export function chargeRetryStrategy(error: Error, attemptsMade: number): RetryDecision {
  if (error instanceof StepInterruptedError || !(error instanceof ProviderUnavailableError)) {
    return { shouldRetry: false };
  }
  return chargeOutageRetry(error, attemptsMade);
}

export function createPaymentHandler(deps: PaymentDeps): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) => chargeForBooking(event, context, deps));
}

/**
 * The real gateway: JSON over HTTP with the caller's idempotency key as the `Idempotency-Key` header, answers
 * classified by src/call-outcome.ts. PAYMENT_GATEWAY_URL is read on each call, inside the step, and so is the
 * gateway's bearer token, PAYMENT_GATEWAY_TOKEN, from Secrets Manager (optional: no secret, no token), sent to
 * PAYMENT_GATEWAY_URL only.
 */
export function createHttpPaymentGateway(
  baseUrl: () => string = () => process.env.PAYMENT_GATEWAY_URL ?? "",
  timeoutMs = 10_000,
  token: () => Promise<string | undefined> = () =>
    secretSetting("PAYMENT_GATEWAY_TOKEN", { required: false }),
): PaymentGateway {
  const call = async <T>(
    request: { method: "GET" | "POST"; path: string; body?: object; idempotencyKey?: string },
    answer: z.ZodMiniType<T>,
  ) => {
    const url = baseUrl();
    if (url === "") throw new ProviderRejectedError("PAYMENT_GATEWAY_URL is not set");
    return callJson({
      ...request,
      baseUrl: url,
      setting: "PAYMENT_GATEWAY_URL",
      token: await readToken(token),
      timeoutMs,
      answer,
    });
  };
  return {
    charge: ({ idempotencyKey, ...request }) =>
      call({ method: "POST", path: "charges", body: request, idempotencyKey }, ChargeAnswer),
    async findCharge({ idempotencyKey }) {
      try {
        return await call(
          { method: "GET", path: `charges?idempotencyKey=${encodeURIComponent(idempotencyKey)}` },
          ChargeLookUpAnswer,
        );
      } catch (error) {
        if (error instanceof ProviderRejectedError && error.status === 404) return undefined;
        throw error;
      }
    },
  };
}

/** The deployed payment function. */
export const paymentHandler = createPaymentHandler({ gateway: createHttpPaymentGateway() });
