/**
 * Knows when the handler's invocations have returned, so that a test can answer a callback the way a person or a
 * provider does: after the execution has suspended on it.
 *
 * Why a test needs it: an answer sent while the invocation that created the callback is still running can reach
 * that invocation. Every checkpoint response carries the operations that changed, and the SDK resolves a waiting
 * operation from it, so if that invocation checkpoints again before it suspends (another branch's step, say), the
 * callback completes without a suspension and a test meant to show the replay after the answer shows none. A fixed
 * delay only makes that less likely on a loaded machine; waiting for the invocation to return rules it out.
 *
 * ```ts
 * const invocations = watchInvocations(createHandler(deps, config));
 * const runner = new LocalDurableTestRunner({ handlerFunction: invocations.handler });
 * const run = runner.run({ payload });
 * await approval.waitForData(WaitingOperationStatus.STARTED);
 * await invocations.suspended(); // the invocation that created the callback has returned
 * await approval.sendCallbackSuccess(answer);
 * ```
 */
export function watchInvocations<Handler extends (...args: never[]) => Promise<unknown>>(handler: Handler) {
  let running = 0;
  const waiting: (() => void)[] = [];
  const watched = async (...args: Parameters<Handler>) => {
    running += 1;
    try {
      return await handler(...args);
    } finally {
      running -= 1;
      if (running === 0) waiting.splice(0).forEach((resolve) => resolve());
    }
  };
  return {
    handler: watched as unknown as Handler,
    /** Resolves once no invocation is running: at once if none is. */
    suspended: (): Promise<void> =>
      running === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve)),
  };
}
