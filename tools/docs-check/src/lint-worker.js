// Runs the repository's durable ESLint rules over code blocks, in its own Node process (the plugin and ESLint are
// ES modules; the check itself runs under CommonJS and Jest). Reads {root, blocks: [{key, code}]} as JSON on stdin,
// writes {available, results: {key: [{ruleId, line, column, message}]}} as JSON on stdout.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

async function main() {
  const input = JSON.parse(fs.readFileSync(0, "utf8"));
  const pluginEntry = path.join(input.root, "tools", "eslint-plugin-durable", "index.js");
  if (!fs.existsSync(pluginEntry)) {
    process.stdout.write(JSON.stringify({ available: false, reason: `${pluginEntry} does not exist` }));
    return;
  }
  const rootRequire = createRequire(path.join(input.root, "package.json"));
  const load = async (specifier) => import(pathToFileURL(rootRequire.resolve(specifier)).href);
  const { Linter } = await load("eslint");
  const tseslint = (await load("typescript-eslint")).default;
  const plugin = (await import(pathToFileURL(pluginEntry).href)).default;
  // Every rule of the plugin, with its default options: a wrong-way block is proven wrong if any of them reports it.
  const rules = Object.fromEntries(Object.keys(plugin.rules).map((name) => [`durable/${name}`, "error"]));
  const config = [
    {
      files: ["**/*.ts"],
      languageOptions: { parser: tseslint.parser, sourceType: "module", ecmaVersion: "latest" },
      plugins: { durable: plugin },
      rules,
    },
  ];
  // Config globs match relative to cwd: the block is linted as a file at the root.
  const linter = new Linter({ configType: "flat", cwd: input.root });
  const results = {};
  for (const block of input.blocks) {
    const messages = linter.verify(block.code, config, {
      filename: path.join(input.root, "docs-check-block.ts"),
    });
    results[block.key] = messages.map((m) => ({
      ruleId: m.ruleId,
      line: m.line,
      column: m.column,
      message: m.message,
      fatal: !!m.fatal || m.ruleId === null,
    }));
  }
  process.stdout.write(JSON.stringify({ available: true, results }));
}

main().catch((error) => {
  process.stdout.write(
    JSON.stringify({ available: false, reason: String(error && error.stack ? error.stack : error) }),
  );
});
