// The SDK's context.logger prints JSON lines at DEBUG by default; keep test output to warnings and errors.
process.env.AWS_LAMBDA_LOG_LEVEL ??= "WARN";

/** Jest runs the TypeScript tests through ts-jest (CommonJS, the SDK's "require" export). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
  // The local runner's fake clock ticks every 1 ms instead of 20 (test/fast-clock.ts: what it relies on, how to
  // remove it).
  setupFilesAfterEnv: ["<rootDir>/test/fast-clock.ts"],
  // Callback timeouts run on real time in the local runner; everything else is time-skipped.
  testTimeout: 30000,
  // Most of a test's time is waiting (real callback timeouts, the runner's timers), not CPU: two test files at once
  // (jest's default on two cores is one).
  maxWorkers: 2,
};
