import { resolve } from "node:path";
import { copyPattern, CopyPatternError } from "./copy";

/**
 * pnpm copy-pattern <pattern> <directory>
 *
 * pnpm runs root scripts in the repository root, so a relative directory is taken from where the command was
 * typed (INIT_CWD), as a user expects.
 */
export function main(argv: string[], env: NodeJS.ProcessEnv = process.env): number {
  const repoRoot = resolve(__dirname, "..", "..", "..");
  const args = argv.filter((arg) => arg !== "--");
  if (args.length !== 2 || args.some((arg) => arg.startsWith("-"))) {
    process.stderr.write(
      "Usage: pnpm copy-pattern <pattern> <directory>\n" +
        "Copies a pattern into a new directory as a standalone npm project, with the replay lint rules set up.\n",
    );
    return 2;
  }
  const [pattern, directory] = args as [string, string];
  const target = resolve(env.INIT_CWD ?? process.cwd(), directory);
  try {
    const result = copyPattern(repoRoot, pattern, target);
    process.stdout.write(
      `Copied ${result.pattern} (${result.files} files) to ${target}, with the replay lint rules ` +
        `(vendor/eslint-plugin-durable, eslint.config.mjs).\nNext:\n  cd ${target}\n  npm install && npm test && npm run lint\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof CopyPatternError) {
      process.stderr.write(`copy-pattern: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
