import { StepError, StepInterruptedError } from "@aws/durable-execution-sdk-js";
import {
  classifyHttpResult,
  classifyNetworkError,
  classifyStatus,
  MALFORMED_ANSWER,
  outcomeOf,
  outcomeOfFailedStep,
  type CallOutcome,
} from "../src/call-outcome";
import {
  ClientError,
  errorFor,
  OutcomeInDoubtError,
  PROVIDER_CONTRACTS,
  TransientServiceError,
} from "../src/deps";
import { chargeRetryStrategy, retryUnlessClientError, retryWithSameKey } from "../src/retry-policies";

// The classification, table by table: each row is a status or an error, what it means, and why.
const says = { unavailableMeansNoAction: true };
const silent = { unavailableMeansNoAction: false };

describe("HTTP statuses", () => {
  it.each<[number, typeof says, CallOutcome, boolean, string]>([
    [200, says, "done", false, "2xx: the provider acted"],
    [201, says, "done", false, "2xx: the provider acted"],
    [204, says, "done", false, "2xx: the provider acted"],
    [400, says, "not-done", false, "bad request: refused before acting"],
    [401, says, "not-done", false, "unauthenticated: refused before acting"],
    [402, says, "not-done", false, "payment declined: nothing charged"],
    [403, says, "not-done", false, "forbidden: refused before acting"],
    [404, says, "not-done", false, "not found: nothing to act on"],
    [409, says, "not-done", false, "conflict (out of stock, key reused): a definite no"],
    [410, says, "not-done", false, "4xx: the provider refused the request as sent"],
    [422, says, "not-done", false, "unprocessable: refused before acting"],
    [429, says, "not-done", true, "throttled: the request was not processed"],
    [500, says, "in-doubt", false, "internal error: it may have failed after acting"],
    [502, says, "in-doubt", false, "bad gateway: the upstream may have acted"],
    [503, says, "not-done", true, "unavailable, and the contract says no action was taken"],
    [503, silent, "in-doubt", false, "unavailable, and nothing says no action was taken"],
    [504, says, "in-doubt", false, "gateway timeout: the upstream may still act"],
    [507, says, "in-doubt", false, "507: nothing says nothing happened"],
    [302, says, "in-doubt", false, "redirect, not followed: the provider may have acted before redirecting"],
    [
      307,
      silent,
      "in-doubt",
      false,
      "redirect, not followed: the provider may have acted before redirecting",
    ],
  ])("%d (503 means no action: %j) is %s", (status, contract, outcome, retryable, reason) => {
    expect(classifyStatus(status, contract)).toEqual({ outcome, retryable, reason });
  });

  it("each provider's contract is written down: only the gateway does not promise that a 503 did nothing", () => {
    expect(PROVIDER_CONTRACTS).toEqual({
      inventory: says,
      payments: silent,
      shipping: says,
      notifier: says,
    });
  });
});

describe("network errors", () => {
  // What Node's fetch throws: a TypeError("fetch failed") whose cause is the system error with its code.
  const fetchFailed = (code: string) =>
    new TypeError("fetch failed", { cause: Object.assign(new Error(code), { code }) });
  const timeout = () =>
    Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" });

  it.each<[string, unknown, CallOutcome, boolean, string]>([
    [
      "connection refused",
      fetchFailed("ECONNREFUSED"),
      "not-done",
      true,
      "ECONNREFUSED: the request was never sent",
    ],
    ["DNS failure", fetchFailed("ENOTFOUND"), "not-done", true, "ENOTFOUND: the request was never sent"],
    ["DNS, temporarily", fetchFailed("EAI_AGAIN"), "not-done", true, "EAI_AGAIN: the request was never sent"],
    [
      "connect timeout",
      fetchFailed("UND_ERR_CONNECT_TIMEOUT"),
      "not-done",
      true,
      "UND_ERR_CONNECT_TIMEOUT: the request was never sent",
    ],
    ["a timeout", timeout(), "in-doubt", false, "timed out: the provider may have acted"],
    ["a reset", fetchFailed("ECONNRESET"), "in-doubt", false, "ECONNRESET: the request may have arrived"],
    [
      "socket hang up",
      fetchFailed("UND_ERR_SOCKET"),
      "in-doubt",
      false,
      "UND_ERR_SOCKET: the request may have arrived",
    ],
    ["a broken pipe", fetchFailed("EPIPE"), "in-doubt", false, "EPIPE: the request may have arrived"],
    [
      "anything unknown",
      new Error("boom"),
      "in-doubt",
      false,
      "connection lost: the request may have arrived",
    ],
  ])("%s", (_label, error, outcome, retryable, reason) => {
    expect(classifyNetworkError(error)).toEqual({ outcome, retryable, reason });
  });

  it("a 2xx with a malformed body is in doubt", () => {
    expect(MALFORMED_ANSWER.outcome).toBe("in-doubt");
  });
});

describe("the facts of src/http-call.ts", () => {
  const call = "POST https://h.example/pay/charges";
  it.each<[string, Parameters<typeof classifyHttpResult>[0], CallOutcome, boolean, string]>([
    [
      "a 2xx that cannot be read",
      { kind: "malformed", call, status: 201, excerpt: "empty: " },
      "in-doubt",
      false,
      MALFORMED_ANSWER.reason,
    ],
    [
      "a connection never made",
      { kind: "not-sent", call, code: "ECONNREFUSED", excerpt: "" },
      "not-done",
      true,
      "ECONNREFUSED: the request was never sent",
    ],
    [
      "no answer in time",
      { kind: "timed-out", call, excerpt: "no answer in time" },
      "in-doubt",
      false,
      "timed out: the provider may have acted",
    ],
    [
      "a connection lost after it was made",
      { kind: "lost", call, code: "UND_ERR_SOCKET", excerpt: "other side closed" },
      "in-doubt",
      false,
      "UND_ERR_SOCKET: the request may have arrived",
    ],
  ])("%s", (_what, result, outcome, retryable, reason) => {
    expect(classifyHttpResult(result, says)).toEqual({ outcome, retryable, reason });
  });

  it.each([200, 307, 402, 429, 500, 503])(
    "a status %d goes through the status table, contract included",
    (status) => {
      for (const contract of [says, silent]) {
        expect(
          classifyHttpResult({ kind: "status", call, status, excerpt: "", body: undefined }, contract),
        ).toEqual(classifyStatus(status, contract));
      }
    },
  );
});

describe("the errors the classification becomes, and the outcome a retry decision reads from them", () => {
  it.each<[string, Error, CallOutcome]>([
    ["a refusal", errorFor(classifyStatus(422, says), "no"), "not-done"],
    ["a throttle", errorFor(classifyStatus(429, says), "later"), "not-done"],
    ["a 503 from the gateway", errorFor(classifyStatus(503, silent), "?"), "in-doubt"],
    ["a 502", errorFor(classifyStatus(502, says), "?"), "in-doubt"],
    [
      "a crash mid-call, seen on replay",
      new StepInterruptedError("charge-payment", "charge-payment"),
      "in-doubt",
    ],
    ["an error from a client library", new TypeError("Cannot read properties of undefined"), "in-doubt"],
  ])("%s", (_label, error, outcome) => {
    expect(outcomeOf(error)).toBe(outcome);
  });

  it("the error's class follows the classification, and its message carries the reason", () => {
    expect(errorFor(classifyStatus(402, says), "declined", 402)).toEqual(
      new ClientError("declined (payment declined: nothing charged)", 402),
    );
    expect(errorFor(classifyStatus(429, says), "slow down", 429)).toBeInstanceOf(TransientServiceError);
    expect(errorFor(classifyStatus(504, says), "late", 504)).toBeInstanceOf(OutcomeInDoubtError);
  });
});

describe("the outcome of a step that failed after its retries (the error class is gone; its name is on cause)", () => {
  const failedStep = (name: string) =>
    new StepError("the last attempt's message", Object.assign(new Error("x"), { name }));

  it.each<[string, boolean, CallOutcome]>([
    ["ClientError", false, "not-done"],
    ["ClientError", true, "not-done"],
    // An outage on the last attempt says nothing about an earlier attempt that was retried in doubt...
    ["TransientServiceError", false, "in-doubt"],
    // ...but a strategy that stops at the first doubt retried only attempts that were not done.
    ["TransientServiceError", true, "not-done"],
    ["OutcomeInDoubtError", true, "in-doubt"],
    ["StepInterruptedError", true, "in-doubt"],
    ["Error", true, "in-doubt"],
  ])("%s, strategy stops in doubt: %s, is %s", (name, stopsInDoubt, outcome) => {
    expect(outcomeOfFailedStep(failedStep(name), { stopsInDoubt })).toBe(outcome);
  });

  it("reads through a child context's error to the step's", () => {
    const child = new Error("ship-order failed", { cause: failedStep("ClientError") });
    expect(outcomeOfFailedStep(child, { stopsInDoubt: false })).toBe("not-done");
  });
});

describe("the retry decisions use the outcome", () => {
  const refused = new ClientError("refused", 422);
  const throttled = new TransientServiceError("throttled", 429);
  const inDoubt = new OutcomeInDoubtError("timed out");
  const crashed = new StepInterruptedError("charge-payment", "charge-payment");

  it.each<[string, Error, boolean, boolean, boolean]>([
    // [what, error, the charge retries, a provider honouring keys retries, the carrier retries]
    ["a refusal", refused, false, false, false],
    ["not done, for now", throttled, true, true, true],
    ["in doubt", inDoubt, false, true, true],
  ])("%s", (_label, error, charge, sameKey, carrier) => {
    expect(chargeRetryStrategy(error, 1).shouldRetry).toBe(charge);
    expect(retryWithSameKey(error, 1).shouldRetry).toBe(sameKey);
    expect(retryUnlessClientError(error, 1).shouldRetry).toBe(carrier);
  });

  it("a crash mid-charge is in doubt: the charge is not sent again, it is looked up by its key", () => {
    // Only an at-most-once step sees a crash as an error; an at-least-once step simply runs again.
    expect(chargeRetryStrategy(crashed, 1)).toEqual({ shouldRetry: false });
  });
});
