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
} as const;
