import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The provider signs every webhook delivery: `x-payment-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
 * and `x-payment-timestamp: <unix seconds>`. The timestamp is inside the signed bytes, so an attacker cannot
 * refresh an old delivery's timestamp; the tolerance window bounds how long a captured delivery stays usable.
 */
export const SIGNATURE_HEADER = "x-payment-signature";
export const TIMESTAMP_HEADER = "x-payment-timestamp";
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signPayload(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export type SignatureProblem =
  | "no secret configured"
  | "missing signature"
  | "missing timestamp"
  | "malformed timestamp"
  | "timestamp too old"
  | "timestamp in the future"
  | "signature does not match";

export type SignatureCheck = { ok: true } | { ok: false; problem: SignatureProblem };

/**
 * Fails closed: no secret, no signature or no timestamp is a rejection, never a pass. The comparison takes
 * the same time wherever the bytes differ (timingSafeEqual), so response times reveal nothing about the
 * expected signature. Several `v1=` entries (comma-separated) are accepted, for secret rotation.
 */
export function verifySignature(input: {
  secret: string | undefined;
  signature: string | undefined;
  timestamp: string | undefined;
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!input.secret) return { ok: false, problem: "no secret configured" };
  if (!input.signature) return { ok: false, problem: "missing signature" };
  if (!input.timestamp) return { ok: false, problem: "missing timestamp" };
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, problem: "malformed timestamp" };
  const timestamp = Number(input.timestamp);
  if (input.nowSeconds - timestamp > tolerance) return { ok: false, problem: "timestamp too old" };
  if (timestamp - input.nowSeconds > tolerance) return { ok: false, problem: "timestamp in the future" };

  const expected = Buffer.from(signPayload(input.secret, timestamp, input.body));
  const matches = input.signature
    .split(",")
    .map((candidate) => Buffer.from(candidate.trim()))
    .some((candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected));
  return matches ? { ok: true } : { ok: false, problem: "signature does not match" };
}
