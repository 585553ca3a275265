/** A GitHub markdown table: one header row, right-aligned numbers. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const align = headers.map((_, column) =>
    rows.every((row) => typeof row[column] === "number") ? "---:" : "---",
  );
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(" | ")} |`;
  return [line(headers), line(align), ...rows.map(line)].join("\n");
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export function ms(milliseconds: number): string {
  return milliseconds >= 1000 ? `${(milliseconds / 1000).toFixed(2)} s` : `${Math.round(milliseconds)} ms`;
}
