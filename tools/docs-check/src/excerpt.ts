/**
 * Excerpts: a README block marked `<!-- excerpt: src/workflow.ts -->` must be made of the source file's own lines.
 *
 * The block is read as runs of consecutive lines separated by gaps. A gap is a blank line or a line that is only
 * `// ...` (or `/* ... *\/`): lines may be left out of the source there, and only there. Each run must appear in
 * the source as consecutive lines (blank source lines are ignored), and the runs must appear in order.
 * Lines are compared without leading indentation and trailing whitespace.
 */

export type ExcerptResult =
  { ok: true; startLine: number } | { ok: false; blockLine: number; message: string };

interface Line {
  /** 1-based line within the block or file. */
  line: number;
  text: string;
}

const ELLIPSIS = /^(\/\/\s*\.\.\.|\/\*\s*\.\.\.\s*\*\/|\.\.\.)$/;

export function matchExcerpt(block: string, source: string): ExcerptResult {
  const runs = splitRuns(block);
  if (runs.length === 0) return { ok: false, blockLine: 1, message: "the excerpt is empty" };
  const src: Line[] = source
    .split(/\r?\n/)
    .map((text, i) => ({ line: i + 1, text: text.trim() }))
    .filter((l) => l.text !== "");

  let cursor = 0;
  let startLine = 0;
  for (const run of runs) {
    const at = findRun(run, src, cursor);
    if (at < 0) return { ok: false, ...explainMiss(run, src, cursor) };
    if (startLine === 0) startLine = src[at]!.line;
    cursor = at + run.length;
  }
  return { ok: true, startLine };
}

function splitRuns(block: string): Line[][] {
  const runs: Line[][] = [];
  let current: Line[] = [];
  block.split(/\r?\n/).forEach((raw, i) => {
    const text = raw.trim();
    if (text === "" || ELLIPSIS.test(text)) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else {
      current.push({ line: i + 1, text });
    }
  });
  if (current.length > 0) runs.push(current);
  return runs;
}

function findRun(run: Line[], src: Line[], from: number): number {
  for (let start = from; start + run.length <= src.length; start++) {
    if (run.every((l, k) => src[start + k]!.text === l.text)) return start;
  }
  return -1;
}

/** Finds where the run matches longest from `from` on, to name the first line that drifted. */
function explainMiss(run: Line[], src: Line[], from: number): { blockLine: number; message: string } {
  let best = { start: -1, len: 0 };
  for (let start = from; start < src.length; start++) {
    let len = 0;
    while (len < run.length && start + len < src.length && src[start + len]!.text === run[len]!.text) len++;
    if (len > best.len) best = { start, len };
  }
  if (best.len === 0) {
    const where = from > 0 ? ` after line ${src[from - 1]!.line}` : "";
    return {
      blockLine: run[0]!.line,
      message: `line not found in the source${where}: ${quote(run[0]!.text)}`,
    };
  }
  const missing = run[best.len]!;
  const actual = src[best.start + best.len];
  const sourceSays = actual ? `source line ${actual.line} is ${quote(actual.text)}` : "the source ends there";
  return {
    blockLine: missing.line,
    message: `drifted from the source: the block has ${quote(missing.text)} where ${sourceSays} (matching since source line ${src[best.start]!.line}; leave lines out only at a blank line or a \`// ...\` line)`,
  };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 97)}...` : text);
}
