import type { Reservation } from "./deps";
import type { SideWorkRecord } from "./side-work";

/**
 * How an order fails, and what each failure says it left behind. Nothing is left behind silently: every message
 * names what is held or charged, under which idempotency key, and what a person must do about it.
 *
 * - `OrderFailedError`: the failing call was settled as not done (refused, declined, or found absent by its
 *   key), and whatever the order held before it was released, or is named.
 * - `OrderInDoubtError`: a call's outcome could not be settled. The message names the call's idempotency key,
 *   which is how a person (or a reconciliation job) looks the action up with the provider.
 */
export class OrderFailedError extends Error {
  override readonly name = "OrderFailedError";
}

export class OrderInDoubtError extends Error {
  override readonly name = "OrderInDoubtError";
  constructor(
    message: string,
    readonly idempotencyKey: string,
  ) {
    super(message);
  }
}

const money = (amountCents: number, currency: string) => `${amountCents} ${currency}`;

/** A setting the order's calls need cannot be used (check-settings): nothing was sent, so nothing is held. */
export function settingsFailed(orderId: string, cause: string): Error {
  return new OrderFailedError(
    `Order ${orderId} failed at check-settings: ${cause}. Nothing was sent: nothing was reserved or charged. ` +
      `Start the order again once the setting can be used.`,
  );
}

/** The reservation failed. In doubt, the stock held under its key (if any) was released by key. */
export function reservationFailed(
  orderId: string,
  cause: string,
  reservationKey: string,
  release?: SideWorkRecord,
): Error {
  if (!release) {
    return new OrderFailedError(
      `Order ${orderId} failed at reserve-stock: ${cause}. Nothing was reserved or charged.`,
    );
  }
  if (release.status === "sent") {
    return new OrderFailedError(
      `Order ${orderId} failed at reserve-stock, in doubt: ${cause}. Whatever the inventory held ` +
        `under key ${reservationKey} was released by that key; nothing was charged.`,
    );
  }
  return new OrderInDoubtError(
    `Stock for order ${orderId} is in doubt under key ${reservationKey}: ${cause}. Releasing it by ` +
      `that key failed too (${release.error}): release it by hand. Nothing was charged.`,
    reservationKey,
  );
}

/** What a failed order did with its stock: released by the reservation's key, or named for a person to release. */
function stockAfterRelease(
  reservation: Reservation,
  reservationKey: string,
  release: SideWorkRecord,
): string {
  return release.status === "sent"
    ? `reservation ${reservation.reservationId} was released`
    : `releasing reservation ${reservation.reservationId} by key ${reservationKey} failed (${release.error}): ` +
        `release it by hand before ${reservation.expiresAt.toISOString()}, when it expires`;
}

/**
 * The charge was settled as not done: nothing was charged, and the reservation was released. If the release failed
 * the stock is in doubt, so the error is OrderInDoubtError naming the reservation's key.
 */
export function chargeNotDone(
  orderId: string,
  cause: string,
  reservation: Reservation,
  reservationKey: string,
  release: SideWorkRecord,
): Error {
  const message =
    `Order ${orderId} failed at charge-payment: ${cause}. Nothing was charged; ` +
    `${stockAfterRelease(reservation, reservationKey, release)}.`;
  return release.status === "sent"
    ? new OrderFailedError(message)
    : new OrderInDoubtError(message, reservationKey);
}

/**
 * The gateway already holds a charge under this order's key, made before this execution charged anything: the
 * same order event delivered twice, or an order id started again after an execution that charged. This execution
 * charges nothing, ships nothing and releases its own reservation; the earlier charge is named for a person.
 */
export function chargedEarlier(
  orderId: string,
  chargeKey: string,
  earlier: { chargeId: string; amountCents: number; currency: string },
  reservation: Reservation,
  reservationKey: string,
  release: SideWorkRecord,
): Error {
  const message =
    `Order ${orderId} was already charged under key ${chargeKey} (${earlier.chargeId}, ` +
    `${money(earlier.amountCents, earlier.currency)}) before this execution charged anything: a repeated ` +
    `order event, or the order id started again. Nothing was charged or shipped now; ` +
    `${stockAfterRelease(reservation, reservationKey, release)}. The execution that charged it ships it, or, ` +
    `if it failed, its error says what is left to do.`;
  return release.status === "sent"
    ? new OrderFailedError(message)
    : new OrderInDoubtError(message, reservationKey);
}

/** The charge could not be settled: it may have gone through. People settle it by its key. */
export function chargeInDoubt(
  orderId: string,
  chargeKey: string,
  amount: { amountCents: number; currency: string },
  cause: string,
  reservation: Reservation,
): Error {
  return new OrderInDoubtError(
    `The charge for order ${orderId} is in doubt (idempotency key ${chargeKey}, ` +
      `${money(amount.amountCents, amount.currency)}): ${cause}. Reservation ${reservation.reservationId} is ` +
      `kept, not released, until ${reservation.expiresAt.toISOString()}, so that the order can still ship if ` +
      `the charge went through: look the charge up by its key and refund it or ship by hand before then.`,
    chargeKey,
  );
}

/** The shipment failed after the charge: the money and the stock are named for the person who finishes it. */
export function shipmentFailed(
  orderId: string,
  outcome: "not-done" | "in-doubt",
  cause: string,
  shipmentKey: string,
  charge: { chargeId: string; amountCents: number; currency: string },
  reservation: Reservation,
): Error {
  const held =
    `Charge ${charge.chargeId} (${money(charge.amountCents, charge.currency)}) stands and reservation ` +
    `${reservation.reservationId} is held until ${reservation.expiresAt.toISOString()}`;
  if (outcome === "not-done") {
    return new OrderFailedError(
      `Order ${orderId} failed at create-shipment: ${cause}. ${held}: correct the shipment and ` +
        `ship it, or refund the charge.`,
    );
  }
  return new OrderInDoubtError(
    `The shipment for order ${orderId} is in doubt (idempotency key ${shipmentKey}): ${cause}. ` +
      `${held}: look the shipment up with the carrier by its key before shipping again or refunding.`,
    shipmentKey,
  );
}
