import type { Serdes } from "@aws/durable-execution-sdk-js";
import * as z from "zod/mini";
import { describeIssues, PersonId, plainTypeErrors } from "./input";

/**
 * What an approver's answer is. The approval page sends it through SendDurableExecutionCallbackSuccess (the
 * `Result` bytes), as JSON: `{"decision":"approve","decidedBy":"u-dana","comment":"Within budget"}`.
 *
 * Strict: an answer with any other field (`amountCents`, `quantity`, `requestId`, ...) is refused, because a
 * field we do not read could still be meant to change what was approved. `decidedBy` has the same form as the
 * ids in the request, so it can be compared with whom the workflow asked (see verdicts.ts).
 */
export const ApprovalAnswer = z.strictObject({
  decision: z.enum(["approve", "reject"], "must be approve or reject"),
  decidedBy: PersonId,
  comment: z.optional(z.string().check(z.maxLength(500, "must be at most 500 characters"))),
});
export type ApprovalAnswer = z.infer<typeof ApprovalAnswer>;

/**
 * A valid answer is under 700 characters; anything longer than this is refused before JSON.parse reads it,
 * so a huge answer costs nothing but its own checkpoint (which the service bounds).
 */
export const MAX_ANSWER_CHARS = 4096;

/** At most this many problems, each at most this long, are kept: they end up in checkpoints and results. */
const MAX_PROBLEMS = 5;
const MAX_PROBLEM_CHARS = 160;

/** The parsed answer: a well-formed answer, or what was wrong with it. Who sent it is checked afterwards. */
export type CheckedAnswer = { valid: true; answer: ApprovalAnswer } | { valid: false; problems: string[] };

/**
 * Parses and validates a callback result. It never throws: a deserializer that throws makes the SDK fail the
 * invocation (SERDES_FAILED), Lambda retries the invocation, the same bytes fail again, and the execution
 * loops until it times out. A malformed answer is a fact about the outside world, so it comes back as a value
 * that the workflow handles like any other answer.
 */
export function checkApprovalAnswer(raw: string | undefined): CheckedAnswer {
  if (raw === undefined || raw.trim() === "") return invalid("the answer is empty");
  if (raw.length > MAX_ANSWER_CHARS) {
    return invalid(`the answer is too large (${raw.length} characters, at most ${MAX_ANSWER_CHARS})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return invalid("the answer is not JSON");
  }
  // JSON.parse keeps the last of two equal keys; an approval page that reads the first would show another
  // decision than the one the workflow takes. An answer that says two things says nothing.
  const repeated = repeatedKey(raw);
  if (repeated !== undefined) return invalid(`the answer gives the field ${repeated} more than once`);
  const parsed = ApprovalAnswer.safeParse(json, { error: plainTypeErrors });
  return parsed.success
    ? { valid: true, answer: parsed.data }
    : invalid(...describeIssues(parsed.error, "answer"));
}

/**
 * The first key that appears twice in one object of a JSON text that JSON.parse has accepted, or undefined.
 * A string is a key when it follows `{` or `,` inside an object; keys are compared after decoding their escapes.
 */
function repeatedKey(json: string): string | undefined {
  const scopes: Array<Set<string> | "array"> = [];
  let previous = "";
  for (let at = 0; at < json.length; at++) {
    const char = json[at]!;
    if (char === "{") scopes.push(new Set());
    else if (char === "[") scopes.push("array");
    else if (char === "}" || char === "]") scopes.pop();
    else if (char === '"') {
      let end = at + 1;
      while (json[end] !== '"') end += json[end] === "\\" ? 2 : 1;
      const scope = scopes[scopes.length - 1];
      if (scope instanceof Set && (previous === "{" || previous === ",")) {
        const key = JSON.parse(json.slice(at, end + 1)) as string;
        if (scope.has(key)) return JSON.stringify(key).slice(0, 40);
        scope.add(key);
      }
      at = end;
    }
    if (!/\s/.test(char)) previous = char;
  }
  return undefined;
}

function invalid(...problems: string[]): CheckedAnswer {
  const bounded = problems
    .slice(0, MAX_PROBLEMS)
    .map((problem) =>
      problem.length > MAX_PROBLEM_CHARS ? `${problem.slice(0, MAX_PROBLEM_CHARS - 1)}…` : problem,
    );
  if (problems.length > MAX_PROBLEMS) bounded.push(`and ${problems.length - MAX_PROBLEMS} more problems`);
  return { valid: false, problems: bounded };
}

/**
 * Callback results arrive as raw strings. This serdes hands the workflow a CheckedAnswer instead; it runs on
 * every replay too, which is fine because it is pure.
 */
export const approvalAnswerSerdes: Omit<Serdes<CheckedAnswer>, "serialize"> = {
  deserialize: async (raw) => checkApprovalAnswer(raw),
};
