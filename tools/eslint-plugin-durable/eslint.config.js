// The plugin is plain JavaScript (ES modules, no build step), so it is linted here with ESLint's recommended
// rules and without type information. ESLint 10 uses the config file nearest to each linted file, so the
// TypeScript config at the repository root does not apply to these files.
import js from "@eslint/js";

const node = {
  console: "readonly",
  process: "readonly",
  URL: "readonly",
  globalThis: "readonly",
};

export default [
  { ignores: ["node_modules/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js"],
    languageOptions: { ecmaVersion: "latest", sourceType: "module", globals: node },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      eqeqeq: ["error", "smart"],
      "prefer-const": "error",
    },
  },
];
