import {
  classifyNetworkError,
  classifyStatus,
  errorFor,
  MALFORMED_ANSWER,
  OutcomeInDoubtError,
  outcomeOfFailedCharge,
  outcomeOfFailedStep,
  ProviderRejectedError,
  ProviderUnavailableError,
  RefusedAfterRetryError,
  refusalFinalOnlyOnFirstAttempt,
  type CallOutcome,
} from "../src/call-outcome";

// The classification every call goes through (src/call-outcome.ts), one row per answer, with whether a
// not-done answer may be retried. The HTTP tests (http-deps.test.ts) show the same rows on the wire.
describe("HTTP statuses", () => {
  it.each<[number, CallOutcome, boolean]>([
    [200, "done", false],
    [201, "done", false],
    [204, "done", false],
    [400, "not-done", false],
    [401, "not-done", false],
    [402, "not-done", false],
    [403, "not-done", false],
    [404, "not-done", false],
    [409, "not-done", false],
    [422, "not-done", false],
    [410, "not-done", false],
    [429, "not-done", true],
    [503, "not-done", true],
    [500, "in-doubt", false],
    [502, "in-doubt", false],
    [504, "in-doubt", false],
    [507, "in-doubt", false],
    [599, "in-doubt", false],
  ])("%d is %s (retryable: %p), with a reason", (status, outcome, retryable) => {
    const classification = classifyStatus(status);
    expect(classification).toMatchObject({ outcome, retryable });
    expect(classification.reason.length).toBeGreaterThan(10);
  });

  it("503 is in doubt for a provider whose contract does not say it took no action", () => {
    expect(classifyStatus(503, { unavailableMeansNoAction: false })).toMatchObject({
      outcome: "in-doubt",
      retryable: false,
    });
  });
});

describe("network errors", () => {
  const fetchFailed = (code: string) => Object.assign(new TypeError("fetch failed"), { cause: { code } });
  const timeout = Object.assign(new Error("The operation was aborted due to timeout"), {
    name: "TimeoutError",
  });
  const aborted = Object.assign(new Error("This operation was aborted"), { name: "AbortError" });

  it.each<[string, unknown, CallOutcome, boolean]>([
    ["connection refused (never sent)", fetchFailed("ECONNREFUSED"), "not-done", true],
    ["DNS failure (never sent)", fetchFailed("ENOTFOUND"), "not-done", true],
    ["DNS timeout (never sent)", fetchFailed("EAI_AGAIN"), "not-done", true],
    ["a connect timeout (never connected)", fetchFailed("UND_ERR_CONNECT_TIMEOUT"), "not-done", true],
    ["a timeout", timeout, "in-doubt", false],
    ["an abort", aborted, "in-doubt", false],
    ["a reset after sending", fetchFailed("ECONNRESET"), "in-doubt", false],
    ["a socket closed mid-answer", fetchFailed("UND_ERR_SOCKET"), "in-doubt", false],
    ["socket hang up", new Error("socket hang up"), "in-doubt", false],
    ["anything unknown", new TypeError("fetch failed"), "in-doubt", false],
  ])("%s is %s", (_label, error, outcome, retryable) => {
    expect(classifyNetworkError(error)).toMatchObject({ outcome, retryable });
  });

  it("a 2xx with a malformed body is in doubt", () => {
    expect(MALFORMED_ANSWER.outcome).toBe("in-doubt");
  });
});

describe("the error each classification becomes", () => {
  it.each([
    [classifyStatus(409), ProviderRejectedError],
    [classifyStatus(429), ProviderUnavailableError],
    [classifyStatus(503), ProviderUnavailableError],
    [classifyStatus(500), OutcomeInDoubtError],
    [MALFORMED_ANSWER, OutcomeInDoubtError],
  ])("%j becomes %p", (classification, errorClass) => {
    expect(errorFor(classification, "m", 1)).toBeInstanceOf(errorClass);
  });
});

describe("a failed step, after its retries (what survives the checkpoint is the cause's name)", () => {
  const failedStep = (causeName: string) =>
    Object.assign(new Error("step failed"), { cause: Object.assign(new Error("x"), { name: causeName }) });

  it.each<[string, CallOutcome, CallOutcome]>([
    // A refusal answers the key: the provider looked and did nothing.
    ["ProviderRejectedError", "not-done", "not-done"],
    // An outage on the last attempt of a keyed reservation says nothing about the earlier attempts, which may
    // have timed out after acting; the charge retries only outages, so all its attempts were not done.
    ["ProviderUnavailableError", "in-doubt", "not-done"],
    ["OutcomeInDoubtError", "in-doubt", "in-doubt"],
    // A refusal on a retry: the attempt before it may have acted under the same key.
    ["RefusedAfterRetryError", "in-doubt", "in-doubt"],
    ["StepInterruptedError", "in-doubt", "in-doubt"],
    ["Error", "in-doubt", "in-doubt"],
  ])("%s: a reservation step is %s, the charge step %s", (causeName, reservation, charge) => {
    expect(outcomeOfFailedStep(failedStep(causeName))).toBe(reservation);
    expect(outcomeOfFailedCharge(failedStep(causeName))).toBe(charge);
  });
});

describe("a refusal is final only on a step's first attempt", () => {
  const refused = () => Promise.reject(new ProviderRejectedError("hotel is fully booked (409)", 409));

  it("on the first attempt, the refusal is passed on as it is: not done", async () => {
    await expect(refusalFinalOnlyOnFirstAttempt({ attempt: 1 }, refused)).rejects.toBeInstanceOf(
      ProviderRejectedError,
    );
  });

  it("on a retry, it becomes RefusedAfterRetryError: in doubt, with the attempt and the provider's words", async () => {
    const error: unknown = await refusalFinalOnlyOnFirstAttempt({ attempt: 2 }, refused).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RefusedAfterRetryError);
    expect(error).toMatchObject({
      outcome: "in-doubt",
      status: 409,
      message: "refused on attempt 2, after an attempt that may have acted: hotel is fully booked (409)",
    });
  });

  it.each([
    ["an outage", new ProviderUnavailableError("down (503)", 503)],
    ["an outcome in doubt", new OutcomeInDoubtError("timed out")],
  ])("on a retry, %s is passed on unchanged", async (_label, thrown) => {
    await expect(refusalFinalOnlyOnFirstAttempt({ attempt: 3 }, () => Promise.reject(thrown))).rejects.toBe(
      thrown,
    );
  });

  it("a success is returned on any attempt", async () => {
    await expect(refusalFinalOnlyOnFirstAttempt({ attempt: 2 }, async () => "HT-1")).resolves.toBe("HT-1");
  });
});
