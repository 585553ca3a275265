/** The budgets the README states. The bench checks them and prints the ones missed; tests never time anything. */
export interface BudgetCheck {
  budget: string;
  measured: string;
  met: boolean;
}

export const BUDGETS = {
  bundleBytesWithoutAwsSdk: 150 * 1024,
  demoMs: 5_000,
  map1000ItemsMs: 30_000,
  flatOperationsReduction: 0.25,
  /** The chunked map's operations per invoice, at most this share of the per-item map's (issue 19). */
  chunkedOperationsShare: 0.1,
  /** A scale run projected (from the smaller sizes' growth) to take longer than this is skipped, and says so. */
  scaleRunProjectedMs: 240_000,
} as const;
