/**
 * Type-checks code blocks as standalone modules placed in their package's directory, with one in-memory
 * Program per package: imports resolve from that package's node_modules, `./src` resolves to its source,
 * and the compiler options are the package's own tsconfig.json, forced strict.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

export interface SourceBlock {
  /** Unique within the package; names the virtual file. */
  key: string;
  code: string;
}

export interface BlockDiagnostic {
  /** 1-based, within the block. */
  line: number;
  column: number;
  code: number;
  message: string;
}

export interface PackageResult {
  /** Problems with the package's configuration itself (unreadable tsconfig, missing type libraries). */
  packageErrors: string[];
  byBlock: Map<string, BlockDiagnostic[]>;
}

/** Parsed lib and node_modules files, shared by every Program of a run: they dominate the cost. */
const sourceFileCache = new Map<string, ts.SourceFile>();

export function compilerOptionsFor(pkgDir: string): { options: ts.CompilerOptions; errors: string[] } {
  const errors: string[] = [];
  const configFile = ["tsconfig.json", "tsconfig.base.json"]
    .map((f) => path.join(pkgDir, f))
    .find((f) => fs.existsSync(f));
  let options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
  };
  if (configFile) {
    const read = ts.readConfigFile(configFile, (f) => ts.sys.readFile(f));
    if (read.error) {
      errors.push(formatDiagnostic(read.error));
    } else {
      const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, pkgDir, undefined, configFile);
      // "No inputs were found" (TS18003) is about the package's include globs, not about our blocks.
      errors.push(...parsed.errors.filter((d) => d.code !== 18003).map(formatDiagnostic));
      options = parsed.options;
    }
  }
  return {
    options: {
      ...options,
      strict: true,
      noEmit: true,
      // Each block is its own module even without import/export, so blocks never collide in the global scope.
      moduleDetection: ts.ModuleDetectionKind.Force,
      declaration: false,
      composite: false,
      incremental: false,
      tsBuildInfoFile: undefined,
      rootDir: undefined,
      outDir: undefined,
      sourceMap: false,
    },
    errors,
  };
}

/** The virtual file name of a block: inside the package dir, so relative imports resolve like from its root. */
export function virtualFileName(pkgDir: string, key: string): string {
  return path.join(pkgDir, `__docs_check__.${key.replace(/[^\w.-]+/g, "_")}.ts`);
}

export function compileBlocks(pkgDir: string, blocks: SourceBlock[]): PackageResult {
  const { options, errors } = compilerOptionsFor(pkgDir);
  const virtual = new Map<string, string>();
  const keyOf = new Map<string, string>();
  for (const b of blocks) {
    const name = virtualFileName(pkgDir, b.key);
    virtual.set(name, b.code);
    keyOf.set(name, b.key);
  }

  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getCurrentDirectory = () => pkgDir;
  host.fileExists = (f) => virtual.has(f) || ts.sys.fileExists(f);
  host.readFile = (f) => virtual.get(f) ?? ts.sys.readFile(f);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const text = virtual.get(fileName);
    if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
    // Files of the package itself (./src) may be edited between runs in one process (tests); cache only libraries.
    const cacheable =
      fileName.includes(`${path.sep}node_modules${path.sep}`) ||
      fileName.startsWith(path.dirname(ts.getDefaultLibFilePath(options)));
    const cacheKey = `${fileName}|${JSON.stringify(languageVersion)}`;
    if (cacheable) {
      const hit = sourceFileCache.get(cacheKey);
      if (hit) return hit;
    }
    const sf = getSourceFile(fileName, languageVersion, onError, shouldCreate);
    if (sf && cacheable) sourceFileCache.set(cacheKey, sf);
    return sf;
  };

  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host });
  const packageErrors = [
    ...errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ].map((d) => (typeof d === "string" ? d : formatDiagnostic(d)));

  const byBlock = new Map<string, BlockDiagnostic[]>();
  for (const [fileName, key] of keyOf) {
    const sf = program.getSourceFile(fileName);
    if (!sf) {
      packageErrors.push(`could not load ${fileName}`);
      continue;
    }
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    byBlock.set(
      key,
      diagnostics.map((d) => {
        const { line, character } = sf.getLineAndCharacterOfPosition(d.start ?? 0);
        return {
          line: line + 1,
          column: character + 1,
          code: d.code,
          message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        };
      }),
    );
  }
  return { packageErrors, byBlock };
}

function formatDiagnostic(d: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file && d.start !== undefined) {
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}:${character + 1} TS${d.code}: ${text}`;
  }
  return `TS${d.code}: ${text}`;
}
