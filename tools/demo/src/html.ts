import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { FINISHED, toExecutionView, type ExecutionView, type OperationSpan } from "./spans";
import { errorText, formatDuration, kindOf, type TimelineEvent } from "./timeline";

/**
 * The timeline as one self-contained HTML page (inline CSS and SVG, no script, no network): operations
 * as bars nested under their parents, invocations as bands behind them, retries and failures marked.
 * Long idle stretches (a three-day wait) are drawn compressed, with a break that says how long they were.
 */
const LABEL_WIDTH = 330;
const CHART_WIDTH = 860;
const ROW = 24;
const TOP = 54;
const COLORS: Record<string, string> = {
  SUCCEEDED: "#2e9d5b",
  FAILED: "#d64545",
  TIMED_OUT: "#e08a1e",
  CANCELLED: "#8a8f98",
  STOPPED: "#8a8f98",
  STARTED: "#3b7ddd",
  PENDING: "#e0b21e",
  READY: "#e0b21e",
};

export function renderHtml(events: TimelineEvent[], title: string, now: Date = new Date()): string {
  const view = toExecutionView(events);
  const rows = nest(view.operations);
  const last = lastTime(view, events) ?? now;
  const end = view.status === "RUNNING" ? Math.max(last.getTime(), now.getTime()) : last.getTime();
  const x = compressedScale([...times(view, events), end]);
  const height = TOP + (rows.length + (view.actors.length > 0 ? 1 : 0)) * ROW + 30;
  const svg: string[] = [];

  view.invocations.forEach((invocation, index) => {
    const x1 = x(invocation.start.getTime());
    const x2 = x(invocation.end?.getTime() ?? end);
    svg.push(
      `<rect class="invocation" data-invocation="${invocation.number}" x="${x1}" y="${TOP - 22}" width="${Math.max(2, x2 - x1)}" height="${height - TOP - 8}" fill="${index % 2 ? "#eef3fb" : "#e4ecf8"}"><title>invocation ${invocation.number}: ${esc(invocation.status ?? "running")}</title></rect>`,
      `<text class="axis" x="${x1 + 3}" y="${TOP - 10}">inv ${invocation.number}</text>`,
    );
  });
  for (const gap of x.breaks) {
    svg.push(
      `<line class="break" x1="${gap.at}" x2="${gap.at}" y1="${TOP - 30}" y2="${height - 14}" />`,
      `<text class="axis break-label" x="${gap.at}" y="${TOP - 34}" text-anchor="middle">⋯ ${esc(formatDuration(gap.ms))} ⋯</text>`,
    );
  }
  rows.forEach((span, index) => svg.push(...bar(span, index, x, end)));
  if (view.actors.length > 0) {
    const y = TOP + rows.length * ROW;
    svg.push(`<text class="label" x="8" y="${y + 16}">outside world</text>`);
    for (const actor of view.actors) {
      const ax = x(actor.at.getTime());
      svg.push(
        `<path class="actor" d="M${ax} ${y + 5} l6 7 l-6 7 l-6 -7 z"><title>${esc(`${actor.role} ${actor.action}`)}</title></path>`,
      );
    }
  }

  const summary = [
    view.status,
    view.start ? `started ${view.start.toISOString()}` : "",
    view.start
      ? `${formatDuration(end - view.start.getTime())}${view.status === "RUNNING" ? " so far" : ""}`
      : "",
    `${view.operations.length} operations`,
    `${view.invocations.length} invocations`,
    `${view.operations.reduce((sum, span) => sum + span.retries.length, 0)} retries`,
  ].filter(Boolean);
  const outcome = view.error ? `<p class="error">${esc(errorText(view.error))}</p>` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:18px;margin:0 0 4px}.summary{color:#57606a;margin:0 0 12px}.error{color:${COLORS.FAILED};margin:0 0 12px}
.status{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;background:${COLORS[view.status] ?? COLORS.STARTED}}
svg{display:block}text{font-size:12px}.label{fill:#1f2328}.kind,.axis{fill:#57606a;font-size:11px}
.break{stroke:#8a8f98;stroke-dasharray:2 3}.unfinished{fill-opacity:.55;stroke-dasharray:4 3;stroke-width:1.5}
.mark{font-size:13px;font-weight:bold;paint-order:stroke;stroke:#fff;stroke-width:3px}.retry{fill:${COLORS.FAILED}}.actor{fill:#8250df}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="summary"><span class="status">${esc(view.status)}</span> ${esc(summary.slice(1).join(" · "))}</p>
${outcome}<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_WIDTH + CHART_WIDTH + 20}" height="${height}" role="img" aria-label="execution timeline">
${svg.join("\n")}
</svg>
<p class="legend">${Object.entries({
    succeeded: "SUCCEEDED",
    failed: "FAILED",
    "timed out": "TIMED_OUT",
    "running or waiting": "STARTED",
    "waiting to retry": "PENDING",
  })
    .map(([label, status]) => `<span><i style="background:${COLORS[status]}"></i>${label}</span>`)
    .join(
      "",
    )}<span><b class="retry">↻</b> retry</span><span><b style="color:${COLORS.FAILED}">✗</b> failure</span><span>shaded bands: invocations</span></p>
</body></html>
`;
}

export function writeHtml(file: string, events: TimelineEvent[], title: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, renderHtml(events, title));
  return file;
}

type Scale = ((ms: number) => number) & { breaks: { at: number; ms: number }[] };

/** Time → x, linear while things happen, with idle gaps much longer than the rest squeezed (and marked). */
function compressedScale(all: number[]): Scale {
  const points = [...new Set(all)].sort((a, b) => a - b);
  const gaps = points.slice(1).map((point, index) => point - points[index]!);
  const sorted = gaps.filter((gap) => gap > 0).sort((a, b) => a - b);
  const threshold = Math.max(1, (sorted[Math.floor(sorted.length * 0.75)] ?? 1) * 4);
  const squeeze = (gap: number) => (gap <= threshold ? gap : threshold * (1 + Math.log(gap / threshold)));
  const offsets = [0];
  gaps.forEach((gap, index) => offsets.push(offsets[index]! + squeeze(gap)));
  const total = offsets.at(-1) || 1;
  const toX = (offset: number) => Math.round((LABEL_WIDTH + (offset / total) * CHART_WIDTH) * 10) / 10;
  const scale = ((ms: number) => {
    const index = points.findIndex((point) => point >= ms);
    if (index <= 0) return toX(index === 0 ? 0 : total);
    const gap = gaps[index - 1]!;
    const within = gap === 0 ? 0 : (squeeze(gap) * (ms - points[index - 1]!)) / gap;
    return toX(offsets[index - 1]! + within);
  }) as Scale;
  scale.breaks = gaps
    .map((gap, index) => ({ gap, index }))
    .filter(({ gap }) => gap > threshold * 3)
    .map(({ gap, index }) => ({ at: toX(offsets[index]! + squeeze(gap) / 2), ms: gap }));
  return scale;
}

function bar(span: OperationSpan, index: number, x: Scale, end: number): string[] {
  const y = TOP + index * ROW;
  const x1 = x(span.start.getTime());
  const finished = FINISHED.has(span.status);
  const x2 = Math.max(x1 + 4, x(span.end?.getTime() ?? end));
  const color = COLORS[span.status] ?? COLORS.STARTED;
  const name = span.ref.name ?? `(${kindOf(span.ref)})`;
  const took = formatDuration((span.end?.getTime() ?? end) - span.start.getTime());
  const tip = [
    `${name} · ${kindOf(span.ref)} · ${span.status}`,
    `${took}${finished ? "" : " so far"}`,
    span.attempts > 1 ? `${span.attempts} attempts` : "",
    span.error ? errorText(span.error) : "",
  ]
    .filter(Boolean)
    .join("\n");
  const parts = [
    `<g class="op" data-name="${esc(name)}" data-status="${span.status}" data-depth="${span.ref.depth}">`,
    `<text class="label" x="${8 + span.ref.depth * 16}" y="${y + 16}">${esc(name)} <tspan class="kind">${esc(kindOf(span.ref))}</tspan></text>`,
    `<rect class="bar${finished ? "" : " unfinished"}" x="${x1}" y="${y + 5}" width="${x2 - x1}" height="${ROW - 10}" rx="3" fill="${color}" stroke="${color}"><title>${esc(tip)}</title></rect>`,
  ];
  for (const retry of span.retries) {
    parts.push(
      `<text class="mark retry" x="${x(retry.at.getTime()) - 5}" y="${y + 17}"><title>${esc(retry.detail ?? "retry")}</title>↻</text>`,
    );
  }
  if (span.status === "FAILED" || span.status === "TIMED_OUT") {
    parts.push(`<text class="mark failure" x="${x2 + 3}" y="${y + 17}" fill="${color}">✗</text>`);
  }
  const note =
    span.status === "SUCCEEDED"
      ? took
      : `${took}, ${span.status === "TIMED_OUT" ? "timed out" : span.status.toLowerCase()}`;
  if (x2 + 90 < LABEL_WIDTH + CHART_WIDTH)
    parts.push(
      `<text class="axis" x="${x2 + (span.status === "SUCCEEDED" ? 4 : 16)}" y="${y + 16}">${esc(note)}</text>`,
    );
  parts.push("</g>");
  return parts;
}

/** Parents first, each followed by its children, in the order they first appeared. */
function nest(spans: OperationSpan[]): OperationSpan[] {
  const ids = new Set(spans.map((span) => span.ref.id));
  const out: OperationSpan[] = [];
  const visit = (parentId: string | undefined) => {
    for (const span of spans) {
      const parent = span.ref.parentId && ids.has(span.ref.parentId) ? span.ref.parentId : undefined;
      if (parent === parentId) {
        out.push(span);
        visit(span.ref.id);
      }
    }
  };
  visit(undefined);
  return out;
}

function times(view: ExecutionView, events: TimelineEvent[]): number[] {
  return [
    ...events.map((event) => event.at.getTime()),
    ...view.operations.flatMap((span) => [span.start.getTime(), ...(span.end ? [span.end.getTime()] : [])]),
    ...view.invocations.flatMap((invocation) => [
      invocation.start.getTime(),
      ...(invocation.end ? [invocation.end.getTime()] : []),
    ]),
  ];
}

function lastTime(view: ExecutionView, events: TimelineEvent[]): Date | undefined {
  const all = times(view, events);
  return all.length > 0 ? new Date(Math.max(...all)) : undefined;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
