import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import { historyToTimeline } from "../src/history";
import { renderHtml } from "../src/html";
import { loadFixture, shortlyAfter } from "./helpers/fixtures";

function page(name: string) {
  const events = loadFixture(name);
  return renderHtml(historyToTimeline(events), name, shortlyAfter(events));
}

const count = (html: string, pattern: RegExp) => (html.match(new RegExp(pattern, "g")) ?? []).length;

describe("the HTML timeline", () => {
  it("draws every operation as a bar, nested, over one band per invocation", () => {
    const html = page("escalated-after-heartbeat-timeout");
    expect(count(html, /<g class="op"/)).toBe(16);
    expect(count(html, /<rect class="invocation"/)).toBe(4);
    // The callback of ask-manager sits one level under it, right after it.
    expect(html).toMatch(
      /data-name="ask-manager" data-status="FAILED" data-depth="0">[\s\S]*?<\/g>\n<g class="op" data-name="\(callback\)" data-status="TIMED_OUT" data-depth="1">/,
    );
    expect(html).toMatch(/class="axis break-label"[^>]*>⋯ \d+(ms|s) ⋯/); // idle stretches are squeezed and labelled
  });

  it("marks retries and failures", () => {
    const html = page("failed-after-retries");
    expect(count(html, /class="mark retry"/)).toBe(3);
    expect(count(html, /class="mark failure"/)).toBe(1);
    expect(html).toContain('<span class="status">FAILED</span>');
    expect(html).toContain("StepError: inventory is unavailable (503)");
  });

  it("draws unfinished operations up to now, as unfinished", () => {
    const html = page("waiting-on-callback");
    expect(count(html, /class="bar unfinished"/)).toBe(3);
    expect(html).toMatch(/RUNNING<\/span> started \S+ · \d+s so far/);
  });

  it("is self-contained: no script, no external resource, and names are escaped", () => {
    const html = page("succeeded");
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(|@import/i);
    expect(html.match(/https?:\/\/[^"]+/g)).toEqual(["http://www.w3.org/2000/svg"]);
    const hostile = renderHtml(
      [
        {
          kind: "operation",
          at: new Date(0),
          operation: { id: "1", name: '<img src=x onerror="1">', type: "STEP", depth: 0 },
          change: "succeeded",
        },
      ],
      "<b>",
    );
    expect(hostile).not.toContain("<img");
    expect(hostile).not.toContain("<b>");
  });
});

// CI installs Debian's chromium (.ci/run); elsewhere this part is skipped, and says so.
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(
    `Skipping the headless Chromium rendering test: ${CHROMIUM} is absent (apt-get install -y chromium).`,
  );

(haveChromium ? describe : describe.skip)("rendered in headless Chromium", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "timeline-html-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const chromium = (file: string, ...flags: string[]) =>
    execFileSync(
      CHROMIUM,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${mkdtempSync(path.join(dir, "profile-"))}`,
        ...flags,
        `file://${file}`,
      ],
      { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] },
    );

  const file = path.join(dir, "timeline.html");
  beforeAll(() => writeFileSync(file, page("escalated-after-heartbeat-timeout")));

  it("loads the page: the DOM holds every bar", () => {
    const dom = chromium(file, "--dump-dom");
    expect(count(dom, /<g class="op"/)).toBe(16);
    expect(dom).toContain("ask-manager");
  });

  it("paints the bars: a screenshot has green, red and orange bars right of the labels, and label text left of them", () => {
    const png = path.join(dir, "timeline.png");
    chromium(file, "--window-size=1240,700", `--screenshot=${png}`);
    const image = PNG.sync.read(readFileSync(png));
    expect([image.width, image.height]).toEqual([1240, 700]);
    const near = (x: number, y: number, [r, g, b]: number[]) => {
      const i = (y * image.width + x) * 4;
      return (
        Math.abs(image.data[i]! - r!) < 16 &&
        Math.abs(image.data[i + 1]! - g!) < 16 &&
        Math.abs(image.data[i + 2]! - b!) < 16
      );
    };
    const countPixels = (color: number[], fromX: number, toX: number) => {
      let n = 0;
      for (let y = 0; y < image.height; y++) for (let x = fromX; x < toX; x++) if (near(x, y, color)) n++;
      return n;
    };
    const LABELS = 24 + 330; // body margin + label column
    expect(countPixels([0x2e, 0x9d, 0x5b], LABELS, image.width)).toBeGreaterThan(2000); // succeeded bars
    expect(countPixels([0xd6, 0x45, 0x45], LABELS, image.width)).toBeGreaterThan(500); // the failed ask-manager
    expect(countPixels([0xe0, 0x8a, 0x1e], LABELS, image.width)).toBeGreaterThan(500); // its timed-out callback
    expect(countPixels([0x1f, 0x23, 0x28], 24, LABELS)).toBeGreaterThan(300); // label text
  });
});
