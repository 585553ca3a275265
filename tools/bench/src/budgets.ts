/** The budgets the README states. The bench checks them and prints the ones missed; tests never time anything. */
export interface BudgetCheck {
  budget: string;
  measured: string;
  met: boolean;
}

export const BUDGETS = {
  /**
   * 160 KB since the production parts (issue 17): reading secrets through Powertools Parameters (6.5 KB with its
   * commons), the shared HTTP call (4.6 KB) and secret setting (2.2 KB) added about 13 KB to every handler. Of a
   * saga bundle (155.5 KB) the durable SDK is 88 KB and zod 25 KB; the pattern's own code is about 35 KB.
   */
  bundleBytesWithoutAwsSdk: 160 * 1024,
  demoMs: 5_000,
  map1000ItemsMs: 30_000,
  flatOperationsReduction: 0.25,
  /** The chunked map's operations per invoice, at most this share of the per-item map's (issue 19). */
  chunkedOperationsShare: 0.1,
  /** A scale run projected (from the smaller sizes' growth) to take longer than this is skipped, and says so. */
  scaleRunProjectedMs: 240_000,
} as const;
