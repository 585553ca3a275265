/**
 * A value made on the first call and kept for every call after: `onFirstUse(() => import("@aws-sdk/client-s3"))`
 * evaluates the module only when a step first needs it, not when Lambda loads the handler, so a cold start
 * does not pay for a client it may never use. Kept at module level, the value lives as long as the sandbox:
 * made once, reused by every invocation that sandbox runs. A failed attempt is forgotten, so the next call
 * tries again instead of failing for the sandbox's whole life.
 *
 * Only steps call it (a client is I/O), so replay never depends on whether it was made yet.
 */
export function onFirstUse<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () =>
    (made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
}
