/**
 * Reads a Markdown file into the parts the check cares about: TypeScript code blocks (with the marker
 * comment written just above each one), file-level directives, misplaced markers, and relative links.
 */

export type Marker =
  /** The block's lines appear in `file` (a path relative to the Markdown file), in order. */
  | { kind: "excerpt"; file: string; line: number }
  /**
   * A deliberate wrong example: the check proves it is wrong. `expect` lists TS error codes that must all be among
   * its compile errors, or durable lint rule ids of which one must report it (for a block that compiles).
   */
  | { kind: "wrong-way"; expect: string[]; line: number };

export interface CodeBlock {
  /** 1-based line of the opening fence in the Markdown file. */
  fenceLine: number;
  /** 1-based line of the first line of code (fenceLine + 1). */
  firstLine: number;
  /** The code, with the fence's own indentation removed. */
  code: string;
  lang: string;
  marker?: Marker;
  /** `<!-- compile-with: ../patterns/wait-callback -->` above the block: compile it against that package instead. */
  compileWith?: { dir: string; line: number };
}

export interface Directive {
  /** `<!-- docs-check package: ../patterns/steps -->`: compile this file's blocks against that package. */
  package?: { dir: string; line: number };
}

export interface LinkRef {
  line: number;
  target: string;
  /** The link text when it is one inline code span (`[\`code\`](file#L12)`): that line must contain it. */
  code?: string;
}

export interface ParsedMarkdown {
  blocks: CodeBlock[];
  directive: Directive;
  /** Problems in the markers themselves (unknown keyword, marker with no TypeScript block under it). */
  problems: { line: number; message: string }[];
  links: LinkRef[];
}

const TS_LANGS = new Set(["ts", "typescript"]);
const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)?.*$/;
const COMMENT = /^\s*<!--\s*(.*?)\s*-->\s*$/;
const LINK = /\[((?:[^\]`]|`[^`]*`)*)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const CODE_TEXT = /^`([^`]+)`$/;

/** Parses one marker comment's text. Returns undefined for comments that are not ours. */
function parseMarker(
  text: string,
  line: number,
):
  | Marker
  | { kind: "package"; dir: string }
  | { kind: "compile-with"; dir: string; line: number }
  | { kind: "bad"; message: string }
  | undefined {
  const excerpt = /^excerpt\s*:\s*(\S+)$/.exec(text);
  if (excerpt) return { kind: "excerpt", file: excerpt[1]!, line };
  const wrong = /^wrong-way(?:\s*:\s*(.*))?$/.exec(text);
  if (wrong) {
    const expect = (wrong[1] ?? "").split(/[\s,]+/).filter(Boolean);
    const bad = expect.filter((e) => !/^TS\d+$/.test(e) && !/^[\w@-]+\/[\w-]+$/.test(e));
    if (bad.length > 0) {
      return {
        kind: "bad",
        message: `wrong-way expects TS error codes (TS2322) or lint rule ids (durable/rule-name), got: ${bad.join(", ")}`,
      };
    }
    return { kind: "wrong-way", expect, line };
  }
  const compileWith = /^compile-with\s*:\s*(\S+)$/.exec(text);
  if (compileWith) return { kind: "compile-with", dir: compileWith[1]!, line };
  const pkg = /^docs-check\s+package\s*:\s*(\S+)$/.exec(text);
  if (pkg) return { kind: "package", dir: pkg[1]! };
  // Anything that looks like one of our markers but does not parse is an error, not a silent no-op.
  if (/^(excerpt|wrong-way|compile-with|docs-check)\b/.test(text)) {
    return { kind: "bad", message: `cannot read marker "<!-- ${text} -->"` };
  }
  return undefined;
}

export function parseMarkdown(text: string): ParsedMarkdown {
  const lines = text.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  const problems: ParsedMarkdown["problems"] = [];
  const links: LinkRef[] = [];
  const directive: Directive = {};
  // Markers written above the next block: at most one excerpt / wrong-way, and at most one compile-with.
  let pending: Marker | undefined;
  let pendingCompileWith: { dir: string; line: number } | undefined;
  const dropPending = (message: string) => {
    for (const p of [pending, pendingCompileWith]) if (p) problems.push({ line: p.line, message });
    pending = undefined;
    pendingCompileWith = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    const fence = FENCE.exec(line);
    if (fence) {
      const indent = fence[1]!.length;
      const fenceChars = fence[2]!;
      const lang = (fence[3] ?? "").toLowerCase();
      // A closing fence uses the same character, at least as many, and nothing after it.
      const close = new RegExp(`^ {0,3}${fenceChars[0] === "`" ? "`" : "~"}{${fenceChars.length},}\\s*$`);
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !close.test(lines[j]!)) {
        body.push(stripIndent(lines[j]!, indent));
        j++;
      }
      if (TS_LANGS.has(lang)) {
        const block: CodeBlock = { fenceLine: lineNo, firstLine: lineNo + 1, code: body.join("\n"), lang };
        if (pending) block.marker = pending;
        if (pendingCompileWith) block.compileWith = pendingCompileWith;
        if (pending?.kind === "excerpt" && pendingCompileWith) {
          problems.push({
            line: pendingCompileWith.line,
            message: "an excerpt is compared with its source, not compiled: compile-with does not apply",
          });
        }
        blocks.push(block);
        pending = undefined;
        pendingCompileWith = undefined;
      } else {
        dropPending(`marker is followed by a \`\`\`${lang || "(no language)"} block, not \`\`\`ts`);
      }
      i = j; // skip to the closing fence
      continue;
    }

    const comment = COMMENT.exec(line);
    if (comment) {
      const marker = parseMarker(comment[1]!, lineNo);
      if (marker?.kind === "package") {
        directive.package = { dir: marker.dir, line: lineNo };
      } else if (marker?.kind === "bad") {
        problems.push({ line: lineNo, message: marker.message });
      } else if (marker?.kind === "compile-with") {
        if (pendingCompileWith)
          problems.push({
            line: pendingCompileWith.line,
            message: "marker is not followed by a ```ts block",
          });
        pendingCompileWith = { dir: marker.dir, line: marker.line };
      } else if (marker) {
        if (pending)
          problems.push({ line: pending.line, message: "marker is not followed by a ```ts block" });
        pending = marker;
      }
      continue;
    }

    if (line.trim() === "") continue;
    dropPending(
      "marker is not followed by a ```ts block (only blank lines and other markers may separate them)",
    );
    for (const match of line.matchAll(LINK)) {
      const code = CODE_TEXT.exec(match[1]!.trim())?.[1];
      links.push({ line: lineNo, target: match[2]!, ...(code !== undefined ? { code } : {}) });
    }
  }
  dropPending("marker is not followed by a ```ts block");
  return { blocks, directive, problems, links };
}

function stripIndent(line: string, indent: number): string {
  let n = 0;
  while (n < indent && line[n] === " ") n++;
  return line.slice(n);
}
