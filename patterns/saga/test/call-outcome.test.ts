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
  SecretsUnavailableError,
  classifyHttpResult,
  describeHttpResult,
  type CallOutcome,
} from "../src/call-outcome";
import { HttpSettingError } from "../src/http-call";
import { SecretSettingError } from "../src/secret-setting";

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
    [301, "in-doubt", false],
    [307, "in-doubt", false],
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

describe("the facts of src/http-call.ts", () => {
  const call = "POST https://api.example.com/hotels/reservations";
  it.each<[string, Parameters<typeof classifyHttpResult>[0], CallOutcome, boolean, string]>([
    [
      "a refusal",
      { kind: "status", call, status: 409, excerpt: "sold out", body: undefined },
      "not-done",
      false,
      `${call} answered 409: sold out`,
    ],
    [
      "a redirect",
      { kind: "status", call, status: 302, excerpt: "", body: undefined },
      "in-doubt",
      false,
      `${call} answered 302: `,
    ],
    [
      "a malformed 2xx",
      { kind: "malformed", call, status: 201, excerpt: "not JSON: <html>" },
      "in-doubt",
      false,
      `${call} answered 201 with a malformed body: not JSON: <html>`,
    ],
    [
      "never sent",
      { kind: "not-sent", call, code: "ECONNREFUSED", excerpt: "connect ECONNREFUSED" },
      "not-done",
      true,
      `${call} failed (ECONNREFUSED: the request was never sent): connect ECONNREFUSED`,
    ],
    [
      "timed out",
      { kind: "timed-out", call, excerpt: "no answer in time" },
      "in-doubt",
      false,
      `${call} failed (timed out: the provider may have acted): no answer in time`,
    ],
    [
      "lost",
      { kind: "lost", call, code: "ECONNRESET", excerpt: "socket hang up" },
      "in-doubt",
      false,
      `${call} failed (ECONNRESET: the request may have arrived): socket hang up`,
    ],
  ])("%s is %s (retryable: %p)", (_label, result, outcome, retryable, message) => {
    expect(classifyHttpResult(result)).toMatchObject({ outcome, retryable });
    expect(describeHttpResult(result)).toBe(message);
  });

  it("a 2xx reported as a status fact (http-call never does) is not taken as done", () => {
    const result = { kind: "status", call, status: 200, excerpt: "", body: undefined } as const;
    expect(classifyHttpResult(result)).toBe(MALFORMED_ANSWER);
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
    // A setting that cannot be used (a secret missing or unreadable, a bad base URL) stopped the call before it
    // was sent; on a retry, refusalFinalOnlyOnFirstAttempt makes it RefusedAfterRetryError (above).
    ["SecretSettingError", "not-done", "not-done"],
    ["HttpSettingError", "not-done", "not-done"],
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

  it.each([
    ["SecretSettingError", new SecretSettingError("TRIP_API_TOKEN could not be read", "TRIP_API_TOKEN")],
    ["HttpSettingError", new HttpSettingError("flightsUrl (FLIGHTS_API_URL): not a URL")],
  ])("a %s is not done on the first attempt, in doubt on a retry", async (name, thrown) => {
    await expect(refusalFinalOnlyOnFirstAttempt({ attempt: 1 }, () => Promise.reject(thrown))).rejects.toBe(
      thrown,
    );
    const error: unknown = await refusalFinalOnlyOnFirstAttempt({ attempt: 2 }, () =>
      Promise.reject(thrown),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedAfterRetryError);
    expect(error).toMatchObject({
      outcome: "in-doubt",
      message: `${name} on attempt 2, after an attempt that may have acted: ${thrown.message}`,
    });
  });

  it("a secret Secrets Manager could not give for a while ends the step as a setting error: not done on the first attempt, in doubt on a retry", async () => {
    const unavailable = () =>
      Promise.reject(
        new SecretsUnavailableError(
          "TRIP_API_TOKEN could not be read from the secret in TRIP_API_TOKEN_SECRET_ARN (ThrottlingException): nothing was sent",
          "TRIP_API_TOKEN",
        ),
      );
    // Before the step it is an outage, which the strategies that retry outages (compensations) retry.
    expect(await unavailable().catch((e: unknown) => e)).toBeInstanceOf(ProviderUnavailableError);

    const first: unknown = await refusalFinalOnlyOnFirstAttempt({ attempt: 1 }, unavailable).catch(
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(SecretSettingError);
    expect(first).not.toBeInstanceOf(ProviderUnavailableError); // no strategy retries it
    expect(first).toMatchObject({ setting: "TRIP_API_TOKEN", retryable: true });
    expect(outcomeOfFailedStep(first)).toBe("not-done");

    const retry: unknown = await refusalFinalOnlyOnFirstAttempt({ attempt: 2 }, unavailable).catch(
      (e: unknown) => e,
    );
    expect(retry).toBeInstanceOf(RefusedAfterRetryError);
    expect(outcomeOfFailedStep(retry)).toBe("in-doubt");
  });

  it("a success is returned on any attempt", async () => {
    await expect(refusalFinalOnlyOnFirstAttempt({ attempt: 2 }, async () => "HT-1")).resolves.toBe("HT-1");
  });
});
