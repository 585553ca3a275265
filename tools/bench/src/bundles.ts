import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { PATTERNS } from "../../../infra/lib/patterns";
import { median } from "./stats";

/**
 * Each handler bundled as the infra stack deploys it (esbuild, CommonJS, minified, node24), once with the AWS
 * SDK left to the runtime and once with it bundled, and the bundle's module load time: the part of a cold
 * start that the code controls.
 */
export interface HandlerEntry {
  pattern: string;
  /** The export deployed as a Lambda handler. */
  exportName: string;
  entry: string;
}

export interface BundleMeasurement extends HandlerEntry {
  bytesWithoutAwsSdk: number;
  bytesWithAwsSdk: number;
  loadMsWithoutAwsSdk: number;
  loadMsWithAwsSdk: number;
}

/** Every handler the infra stack deploys, from its own list of patterns (so this never disagrees with it). */
export function deployedHandlers(repoRoot: string): HandlerEntry[] {
  return PATTERNS.flatMap((pattern) =>
    pattern.functions.map((fn) => ({
      pattern: pattern.name,
      exportName: fn.handlerExport,
      entry: path.join(repoRoot, "patterns", pattern.name, pattern.entry),
    })),
  ).filter((handler) => existsSync(handler.entry));
}

async function bundle(entry: string, outfile: string, bundleAwsSdk: boolean): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
    external: bundleAwsSdk ? [] : ["@aws-sdk/*"],
  });
  return readFileSync(outfile).byteLength;
}

/** Median time to require() the bundle in a fresh Node process, measured inside that process. */
function loadTime(file: string, runs: number, nodePath?: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});console.log(Number(process.hrtime.bigint()-t)/1e6)`;
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const result = spawnSync(process.execPath, ["-e", script], {
      encoding: "utf8",
      env: { ...process.env, ...(nodePath ? { NODE_PATH: nodePath } : {}), AWS_REGION: "us-east-1" },
    });
    if (result.status !== 0) throw new Error(`Loading ${file} failed: ${result.stderr}`);
    times.push(Number(result.stdout.trim()));
  }
  return median(times);
}

export async function measureBundles(entries: HandlerEntry[], runs = 5): Promise<BundleMeasurement[]> {
  const dir = mkdtempSync(path.join(tmpdir(), "cookbook-bundles-"));
  try {
    const measurements: BundleMeasurement[] = [];
    for (const entry of entries) {
      const base = path.join(dir, `${entry.pattern}-${entry.exportName}`);
      // A tiny wrapper so each bundle exports exactly the deployed handler, as Lambda would load it.
      const wrapper = `${base}.entry.ts`;
      writeFileSync(
        wrapper,
        `export { ${entry.exportName} } from ${JSON.stringify(entry.entry.replace(/\.ts$/, ""))};\n`,
      );
      const withoutSdk = `${base}.no-sdk.js`;
      const withSdk = `${base}.with-sdk.js`;
      const bytesWithoutAwsSdk = await bundle(wrapper, withoutSdk, false);
      const bytesWithAwsSdk = await bundle(wrapper, withSdk, true);
      // Without the SDK bundled, the runtime provides it: resolve it from the pattern's own node_modules.
      const patternModules = path.join(path.dirname(entry.entry), "..", "node_modules");
      measurements.push({
        ...entry,
        bytesWithoutAwsSdk,
        bytesWithAwsSdk,
        loadMsWithoutAwsSdk: loadTime(withoutSdk, runs, patternModules),
        loadMsWithAwsSdk: loadTime(withSdk, runs),
      });
    }
    return measurements;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
