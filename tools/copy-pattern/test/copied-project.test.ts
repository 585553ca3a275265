/**
 * End to end, as a user would: copy the steps pattern out, `npm install` from the registry, `npm test`,
 * `npm run lint`; then plant a replay mistake and see `npm run lint` fail on its line. About a minute or two
 * (the install dominates); one pattern only.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { copyPattern } from "../src/copy";

const repoRoot = resolve(__dirname, "..", "..", "..");
const PATTERN = "steps";

let scratch: string;
let project: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "copied-project-"));
  project = join(scratch, "my-service");
  copyPattern(repoRoot, PATTERN, project);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const NPM_MINUTES = 170_000;
/**
 * spawnSync blocks jest's own timeout, so each npm command gets one of its own: a registry npm cannot reach (a
 * certificate it does not trust: turbo passes NODE_EXTRA_CA_CERTS and the proxy settings through, turbo.json) fails
 * the test, saying so, instead of retrying for a quarter of an hour. Generous: a cold install beside every other
 * suite took about 2 minutes here.
 */
const NPM_COMMAND_LIMIT_MS = 8 * 60_000;

function npm(...args: string[]) {
  // The copy is a plain npm project: no pnpm, no workspace, nothing from this repository on the module path.
  const env = { ...process.env, npm_config_user_agent: "", INIT_CWD: project, NODE_PATH: "" };
  const result = spawnSync("npm", args, {
    cwd: project,
    encoding: "utf8",
    env,
    maxBuffer: 64 * 1024 * 1024,
    timeout: NPM_COMMAND_LIMIT_MS,
  });
  const stopped = result.error ? `npm ${args[0]} did not finish: ${result.error.message}\n` : "";
  return { status: result.status, output: `${stopped}${result.stdout}${result.stderr}` };
}

it(
  `npm install, npm test and npm run lint pass in a copied ${PATTERN} pattern`,
  () => {
    const install = npm("install", "--no-audit", "--no-fund", "--prefer-offline");
    expect({ status: install.status, output: install.status === 0 ? "" : install.output }).toEqual({
      status: 0,
      output: "",
    });
    const test = npm("test", "--silent");
    expect({ status: test.status, output: test.status === 0 ? "" : test.output }).toEqual({
      status: 0,
      output: "",
    });
    const lint = npm("run", "lint", "--silent");
    expect({ status: lint.status, output: lint.output.trim() }).toEqual({ status: 0, output: "" });
  },
  NPM_MINUTES,
);

/** The rules ESLint applies to a file, as `eslint --print-config` computes them from the config in force there. */
function rulesFor(cwd: string, file: string): unknown {
  const result = spawnSync(join(cwd, "node_modules", ".bin", "eslint"), ["--print-config", file], {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`eslint --print-config ${file} in ${cwd}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { rules: unknown }).rules;
}

it(
  "the copy lints its source and tests with exactly the rules this repository applies to the pattern",
  () => {
    // The copy's eslint.config.mjs is written by copy.ts, not copied from the root's: this keeps the two in step.
    for (const file of ["src/index.ts", "test/workflow.test.ts"]) {
      expect(rulesFor(project, file)).toEqual(rulesFor(repoRoot, join("patterns", PATTERN, file)));
    }
  },
  NPM_MINUTES,
);

it(
  "a replay mistake planted in the copy fails npm run lint, on its line",
  () => {
    writeFileSync(
      join(project, "src", "planted-mistake.ts"),
      [
        'import type { DurableContext } from "@aws/durable-execution-sdk-js";',
        "",
        "export async function planted(event: { url: string }, context: DurableContext): Promise<number> {",
        "  const startedAt = Date.now();",
        "  const reply = await fetch(event.url);",
        '  await context.step("after-the-clock", async () => startedAt + reply.status);',
        "  return startedAt;",
        "}",
        "",
      ].join("\n"),
    );
    const lint = npm("run", "lint", "--silent");
    expect(lint.status).toBe(1);
    expect(lint.output).toMatch(
      /planted-mistake\.ts\n\s+4:\d+\s+error\s+`Date\.now\(\)` reads the clock outside a step/,
    );
    expect(lint.output).toMatch(/\n\s+5:\d+\s+error\s+.*durable\/no-non-durable-await/);
  },
  NPM_MINUTES,
);
