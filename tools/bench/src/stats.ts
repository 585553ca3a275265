/** The middle value of repeated measurements: robust to the one slow run a shared machine always has. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export async function repeat<T>(times: number, measure: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < times; i += 1) results.push(await measure());
  return results;
}

/** A wall clock that time skipping cannot fake (LocalDurableTestRunner replaces Date and performance). */
const realNow = performance.now.bind(performance);
export function stopwatch(): () => number {
  const start = realNow();
  return () => realNow() - start;
}
