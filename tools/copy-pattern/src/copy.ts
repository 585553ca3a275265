import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";

/** A refusal the CLI turns into a message and exit code 2, before anything is written. */
export class CopyPatternError extends Error {
  override readonly name = "CopyPatternError";
}

/** Build output and installs: a copied project installs and builds its own. */
const SKIPPED = new Set(["node_modules", "dist", "coverage", ".turbo", "cdk.out"]);
/** The plugin's runtime files, vendored into the copy (plain JavaScript, no build step). */
const PLUGIN_FILES = ["index.js", "lib", "README.md"];
/** The lint toolchain the copy needs, at the versions this repository pins in its root package.json. */
const LINT_PACKAGES = ["eslint", "@eslint/js", "typescript-eslint"];
export const PLUGIN_NAME = "@durable-cookbook/eslint-plugin-durable";
const VENDOR_DIR = "vendor/eslint-plugin-durable";

export interface CopyResult {
  pattern: string;
  target: string;
  files: number;
}

/** The patterns a user can copy: folders of `patterns/` with a package.json. */
export function listPatterns(repoRoot: string): string[] {
  const dir = join(repoRoot, "patterns");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "package.json")))
    .map((entry) => entry.name)
    .sort();
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** An npm package name from the directory's name: lower case, URL-safe. */
export function packageNameFor(directory: string): string {
  const name = basename(resolve(directory))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[-]+$/g, "");
  return name || "durable-pattern";
}

/**
 * Copies `patterns/<pattern>` to `target` as a standalone npm project with the replay lint set up:
 * the plugin vendored under vendor/eslint-plugin-durable (a `file:` devDependency), ESLint and typescript-eslint
 * at this repository's versions, an eslint.config.mjs like the repository's, and `npm run lint`.
 * Refuses, before writing anything, an unknown pattern and a target that exists and is not an empty directory.
 */
export function copyPattern(repoRoot: string, pattern: string, target: string): CopyResult {
  const patterns = listPatterns(repoRoot);
  if (!patterns.includes(pattern)) {
    throw new CopyPatternError(
      `Unknown pattern "${pattern}". The patterns are: ${patterns.join(", ")}.\n` +
        `Usage: pnpm copy-pattern <pattern> <directory>`,
    );
  }
  const destination = resolve(target);
  if (existsSync(destination)) {
    if (!statSync(destination).isDirectory()) {
      throw new CopyPatternError(`${destination} exists and is not a directory. Choose a new directory.`);
    }
    if (readdirSync(destination).length > 0) {
      throw new CopyPatternError(
        `${destination} exists and is not empty. Nothing was copied: choose a new or empty directory.`,
      );
    }
  }
  const source = join(repoRoot, "patterns", pattern);
  if (destination === source || destination.startsWith(`${source}/`)) {
    throw new CopyPatternError(`${destination} is inside the pattern itself. Choose a directory outside it.`);
  }

  const rootPackage = readJson(join(repoRoot, "package.json"));
  const rootDevDependencies = (rootPackage.devDependencies ?? {}) as Record<string, string>;
  const lintVersions: Record<string, string> = {};
  for (const name of LINT_PACKAGES) {
    const version = rootDevDependencies[name];
    if (!version) throw new Error(`The root package.json pins no version of ${name}`);
    lintVersions[name] = version;
  }

  let files = 0;
  mkdirSync(destination, { recursive: true });
  cpSync(source, destination, {
    recursive: true,
    filter: (path) => {
      const skip = SKIPPED.has(basename(path)) || basename(path).endsWith(".tsbuildinfo");
      if (!skip && statSync(path).isFile()) files += 1;
      return !skip;
    },
  });

  const pluginSource = join(repoRoot, "tools", "eslint-plugin-durable");
  const pluginTarget = join(destination, VENDOR_DIR);
  mkdirSync(pluginTarget, { recursive: true });
  for (const file of PLUGIN_FILES) {
    cpSync(join(pluginSource, file), join(pluginTarget, file), { recursive: true });
  }
  const pluginPackage = readJson(join(pluginSource, "package.json"));
  writeJson(join(pluginTarget, "package.json"), {
    name: pluginPackage.name,
    version: pluginPackage.version,
    private: true,
    description: pluginPackage.description,
    license: pluginPackage.license,
    type: "module",
    main: "index.js",
    exports: pluginPackage.exports,
    peerDependencies: pluginPackage.peerDependencies,
  });

  const packagePath = join(destination, "package.json");
  const manifest = readJson(packagePath);
  const scripts = { ...((manifest.scripts ?? {}) as Record<string, string>), lint: "eslint ." };
  const devDependencies = {
    ...((manifest.devDependencies ?? {}) as Record<string, string>),
    ...lintVersions,
    [PLUGIN_NAME]: `file:./${VENDOR_DIR}`,
  };
  writeJson(packagePath, {
    ...manifest,
    name: packageNameFor(destination),
    description: `${typeof manifest.description === "string" ? manifest.description : ""} (copied from the durable functions cookbook's ${pattern} pattern)`,
    scripts,
    devDependencies: Object.fromEntries(
      Object.entries(devDependencies).sort(([a], [b]) => a.localeCompare(b)),
    ),
  });

  writeFileSync(join(destination, "eslint.config.mjs"), eslintConfig());
  if (!existsSync(join(destination, ".gitignore"))) {
    writeFileSync(join(destination, ".gitignore"), "node_modules/\ndist/\ncoverage/\n");
  }
  return { pattern, target: relative(process.cwd(), destination) || ".", files };
}

/** The repository's ESLint setup, for one project: type-checked typescript-eslint and the replay rules. */
export function eslintConfig(): string {
  return `// @ts-check
// Lint as the durable functions cookbook does: typescript-eslint's type-checked rules and the replay-model rules
// (vendor/eslint-plugin-durable, plain JavaScript; its README says what each rule catches and what it does not).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import durable from "${PLUGIN_NAME}";

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "coverage/**", "vendor/**", "**/*.js", "**/*.cjs", "eslint.config.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An un-awaited durable operation still runs, but its failure would go unnoticed. DurablePromise implements
      // Promise rather than extending it, so only \`checkThenables\` makes the rule see it.
      "@typescript-eslint/no-floating-promises": ["error", { checkThenables: true }],
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
  { files: ["src/**/*.ts"], ...durable.configs.recommended },
  { files: ["test/**/*.ts"], ...durable.configs.tests },
);
`;
}
