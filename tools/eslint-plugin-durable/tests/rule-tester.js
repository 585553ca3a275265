import { describe, it } from "node:test";
import { RuleTester } from "eslint";
import { fileURLToPath } from "node:url";
import tseslint from "typescript-eslint";

// RuleTester registers one node:test test per valid and invalid case.
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

/** A RuleTester that parses TypeScript, as the cookbook's patterns are written. */
export const ruleTester = new RuleTester({
  languageOptions: { parser: tseslint.parser, ecmaVersion: "latest", sourceType: "module" },
});

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

/**
 * A RuleTester with type information: each case is linted as `fixtures/file.ts` in a program built from
 * `fixtures/tsconfig.json`, with the real `@aws/durable-execution-sdk-js` types.
 */
export const typedRuleTester = new RuleTester({
  languageOptions: {
    parser: tseslint.parser,
    ecmaVersion: "latest",
    sourceType: "module",
    // Every case is linted as the same file with new contents. With CI=true typescript-eslint infers a single run
    // and never updates its program, so later cases would see the first case's types: keep it updating.
    parserOptions: {
      project: "./tsconfig.json",
      tsconfigRootDir: fixtures,
      disallowAutomaticSingleRunInference: true,
    },
  },
});
const typedFile = `${fixtures}file.ts`;

/** The imports every snippet starts with, so the code reads like a pattern's workflow.ts. */
export const header =
  'import { withDurableExecution, type DurableContext } from "@aws/durable-execution-sdk-js";\n';

/** Names each case by its code without the common header, so the test report reads like the snippets. */
export function run(ruleName, rule, { valid, invalid }) {
  const named = (item) => {
    const test = typeof item === "string" ? { code: item } : item;
    if (test.name) return test;
    const code = test.code.replace(header, "").replace(/\s+/g, " ").trim();
    return { ...test, name: code.length > 150 ? `${code.slice(0, 147)}...` : code };
  };
  ruleTester.run(ruleName, rule, { valid: valid.map(named), invalid: invalid.map(named) });
}

/** The same, with type information (see typedRuleTester); test names start with "[typed]". */
export function runTyped(ruleName, rule, { valid, invalid }) {
  const typed = (item) => {
    const test = typeof item === "string" ? { code: item } : item;
    const code = test.code.replace(header, "").replace(/\s+/g, " ").trim();
    const name = test.name ?? (code.length > 140 ? `${code.slice(0, 137)}...` : code);
    return { ...test, name: `[typed] ${name}`, filename: typedFile };
  };
  typedRuleTester.run(`${ruleName} (typed)`, rule, { valid: valid.map(typed), invalid: invalid.map(typed) });
}
