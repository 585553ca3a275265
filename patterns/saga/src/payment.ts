import {
  StepInterruptedError,
  StepSemantics,
  withDurableExecution,
  type DurableContext,
  type DurableLambdaHandler,
  type RetryDecision,
} from "@aws/durable-execution-sdk-js";
import * as z from "zod/mini";
import { endpoint, ProviderRejectedError, ProviderUnavailableError } from "./deps";
import { Currency, describeIssues, plainTypeErrors } from "./input";
import { retryOutages } from "./workflow";

const required = z.string().check(z.minLength(1, "is required"));

/**
 * The payment function: its own durable function, owned and deployed apart from the trip saga, which calls it
 * with `context.invoke`. It charges a card exactly as asked, with the idempotency key the caller derived, and
 * never charges twice on its own initiative.
 */
export const PaymentRequestInput = z.object({
  bookingId: required,
  customerId: required,
  amountCents: z.number().check(z.int("must be a whole number of cents"), z.positive("must be positive")),
  currency: Currency,
  idempotencyKey: required,
});
export type PaymentRequest = z.infer<typeof PaymentRequestInput>;

export interface PaymentReceipt {
  chargeId: string;
  amountCents: number;
  currency: string;
}

export interface PaymentGateway {
  charge(request: PaymentRequest): Promise<{ chargeId: string }>;
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
): Promise<PaymentReceipt> {
  const parsed = PaymentRequestInput.safeParse(event, { error: plainTypeErrors });
  if (!parsed.success) throw new InvalidPaymentRequestError(describeIssues(parsed.error));
  const request = parsed.data;

  // At most once per retry: the SDK checkpoints the start of each attempt before calling the gateway. If the
  // sandbox dies mid-charge, the replay finds an attempt that started and never finished, and hands the retry
  // strategy a StepInterruptedError instead of silently charging again. A repeat is worse than a gap here:
  // a double charge reaches the customer's statement, while a charge that never happened is caught by the
  // saga (it fails and compensates) and an unknown outcome is reconciled by the idempotency key.
  const { chargeId } = await context.step("charge-card", () => deps.gateway.charge(request), {
    semantics: StepSemantics.AtMostOncePerRetry,
    retryStrategy: chargeRetryStrategy,
  });
  return { chargeId, amountCents: request.amountCents, currency: request.currency };
}

const retryGatewayUnavailable = retryOutages(3, { seconds: 10 });

/**
 * Retry only what the gateway told us it did not do (unavailable, throttled). Never retry an interrupted
 * attempt, whose outcome is unknown, nor a decline.
 */
export function chargeRetryStrategy(error: Error, attemptsMade: number): RetryDecision {
  if (error instanceof StepInterruptedError || error instanceof ProviderRejectedError)
    return { shouldRetry: false };
  return retryGatewayUnavailable(error, attemptsMade);
}

export function createPaymentHandler(deps: PaymentDeps): DurableLambdaHandler {
  return withDurableExecution((event: unknown, context) => chargeForBooking(event, context, deps));
}

/**
 * The real gateway: JSON over HTTP with the caller's idempotency key as the `Idempotency-Key` header.
 * PAYMENT_GATEWAY_URL is read on each call, inside the step, never at import time.
 */
export function createHttpPaymentGateway(
  baseUrl: () => string = () => process.env.PAYMENT_GATEWAY_URL ?? "",
  timeoutMs = 10_000,
): PaymentGateway {
  return {
    async charge({ idempotencyKey, ...request }) {
      const base = baseUrl();
      if (base === "") throw new ProviderRejectedError("PAYMENT_GATEWAY_URL is not set");
      let response: Response;
      try {
        response = await fetch(endpoint(base, "charges"), {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        // The request may or may not have reached the gateway: at-most-once means we do not guess.
        throw new Error(`Charge ${idempotencyKey} outcome unknown: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const text = await response.text();
      if (response.status === 429 || response.status === 503) {
        throw new ProviderUnavailableError(
          `Payment gateway answered ${response.status}: ${text}`,
          response.status,
        );
      }
      if (!response.ok) {
        throw new ProviderRejectedError(
          `Payment gateway answered ${response.status}: ${text}`,
          response.status,
        );
      }
      return JSON.parse(text) as { chargeId: string };
    },
  };
}

/** The deployed payment function. */
export const paymentHandler = createPaymentHandler({ gateway: createHttpPaymentGateway() });
