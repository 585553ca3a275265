import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { copyPattern, CopyPatternError, listPatterns, packageNameFor, PLUGIN_NAME } from "../src/copy";

const repoRoot = resolve(__dirname, "..", "..", "..");
const cli = join(repoRoot, "tools", "copy-pattern", "src", "cli.ts");
const tsx = join(repoRoot, "node_modules", ".bin", "tsx");

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "copy-pattern-"));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

function runCli(args: string[], cwd = scratch) {
  const result = spawnSync(tsx, [cli, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, INIT_CWD: cwd },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("copyPattern", () => {
  it("lists the patterns of the repository", () => {
    expect(listPatterns(repoRoot)).toEqual(expect.arrayContaining(["steps", "saga", "wait-callback"]));
  });

  it("copies the pattern without installs or build output, with the plugin vendored and an ESLint config", () => {
    const target = join(scratch, "My Service");
    copyPattern(repoRoot, "steps", target);

    expect(existsSync(join(target, "src", "workflow.ts"))).toBe(true);
    expect(existsSync(join(target, "test", "__golden__"))).toBe(true);
    expect(existsSync(join(target, "node_modules"))).toBe(false);
    expect(existsSync(join(target, "dist"))).toBe(false);

    const manifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8")) as {
      name: string;
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const root = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    expect(manifest.name).toBe("my-service");
    expect(manifest.scripts.lint).toBe("eslint .");
    expect(manifest.scripts.test).toBe("jest");
    expect(manifest.devDependencies[PLUGIN_NAME]).toBe("file:./vendor/eslint-plugin-durable");
    for (const name of ["eslint", "@eslint/js", "typescript-eslint"]) {
      expect(manifest.devDependencies[name]).toBe(root.devDependencies[name]);
    }
    // Nothing from the workspace protocol leaks into a project npm must install.
    expect(JSON.stringify(manifest)).not.toMatch(/workspace:/);

    // The vendored plugin is the repository's, file for file.
    const plugin = join(repoRoot, "tools", "eslint-plugin-durable");
    const vendored = join(target, "vendor", "eslint-plugin-durable");
    for (const file of [
      "index.js",
      ...readdirSync(join(plugin, "lib", "rules")).map((f) => `lib/rules/${f}`),
    ]) {
      expect(readFileSync(join(vendored, file), "utf8")).toBe(readFileSync(join(plugin, file), "utf8"));
    }
    const config = readFileSync(join(target, "eslint.config.mjs"), "utf8");
    expect(config).toContain(`import durable from "${PLUGIN_NAME}"`);
    expect(config).toContain('{ files: ["src/**/*.ts"], ...durable.configs.recommended }');
    expect(config).toContain("checkThenables: true");
  });

  it("copies into an empty directory that already exists", () => {
    const target = join(scratch, "empty");
    mkdirSync(target);
    copyPattern(repoRoot, "steps", target);
    expect(existsSync(join(target, "package.json"))).toBe(true);
  });

  it("refuses an unknown pattern, naming the ones there are, and writes nothing", () => {
    const target = join(scratch, "new");
    expect(() => copyPattern(repoRoot, "stepz", target)).toThrow(CopyPatternError);
    expect(() => copyPattern(repoRoot, "stepz", target)).toThrow(/Unknown pattern "stepz".*steps/);
    expect(() => copyPattern(repoRoot, "../tools", target)).toThrow(/Unknown pattern/);
    expect(existsSync(target)).toBe(false);
  });

  it("refuses a directory that is not empty, and leaves it as it was", () => {
    const target = join(scratch, "taken");
    mkdirSync(target);
    writeFileSync(join(target, "notes.txt"), "mine");
    expect(() => copyPattern(repoRoot, "steps", target)).toThrow(/exists and is not empty/);
    expect(readdirSync(target)).toEqual(["notes.txt"]);
  });

  it("refuses a path that is a file", () => {
    const target = join(scratch, "file");
    writeFileSync(target, "x");
    expect(() => copyPattern(repoRoot, "steps", target)).toThrow(/is not a directory/);
  });

  it("names the package after the directory", () => {
    expect(packageNameFor("/x/Order Service")).toBe("order-service");
    expect(packageNameFor("/x/.hidden")).toBe("hidden");
  });
});

describe("pnpm copy-pattern (the CLI)", () => {
  it("copies into a directory relative to where it is run, and says what to run next", () => {
    const result = runCli(["steps", "svc"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("npm install && npm test && npm run lint");
    expect(existsSync(join(scratch, "svc", "eslint.config.mjs"))).toBe(true);
  });

  it("exits 2 with a clear message for an unknown pattern", () => {
    const result = runCli(["nope", "svc"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^copy-pattern: Unknown pattern "nope"\. The patterns are: .*steps/);
    expect(existsSync(join(scratch, "svc"))).toBe(false);
  });

  it("exits 2 for a directory that is not empty", () => {
    mkdirSync(join(scratch, "svc"));
    writeFileSync(join(scratch, "svc", "keep.ts"), "");
    const result = runCli(["steps", "svc"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/svc exists and is not empty\. Nothing was copied/);
  });

  it("exits 2 with the usage when arguments are missing", () => {
    const result = runCli(["steps"]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Usage: pnpm copy-pattern <pattern> <directory>/);
  });
});
