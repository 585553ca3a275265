// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
// Our replay-model rules (tools/eslint-plugin-durable, plain JavaScript: no build step before lint).
import durable from "./tools/eslint-plugin-durable/index.js";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "**/cdk.out/**", "**/coverage/**", "**/*.js", "**/*.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An un-awaited durable operation still runs, but its failure would go unnoticed. DurablePromise implements
      // Promise rather than extending it, so only `checkThenables` makes the rule see it. `void` stays a deliberate
      // discard here; `void context.step(...)` is reported by durable/no-floating-operation.
      "@typescript-eslint/no-floating-promises": ["error", { checkThenables: true }],
      // Fakes and step functions stay async without awaiting: a throw must become a rejection, as it would
      // from a real service, not a synchronous exception.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/test/**/*.ts"],
    rules: {
      // Tests read optional fields of results they have just asserted on.
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
  // The replay model, on every pattern's code and tests. Scope: the rules look at workflow code only (functions
  // that receive a DurableContext and the functions the SDK runs as workflow code), so deps.ts and demo.ts may
  // call fetch or read the clock in functions that only steps invoke. See tools/eslint-plugin-durable/README.md.
  { files: ["patterns/**/src/**/*.ts"], ...durable.configs.recommended },
  { files: ["patterns/**/test/**/*.ts"], ...durable.configs.tests },
);
