/**
 * The router's table config from a migration plan, so the application and the workflow read the same
 * plan file: `createRouter({ ..., tables: routerTables(loadPlanFile('plan.yaml')) })`.
 */
import type { TableSpec } from '../activities/contracts.js';
import type { TableConfig } from './schema.js';

export function routerTables(plan: { tables: readonly TableSpec[] }): Record<string, TableConfig> {
  const out: Record<string, TableConfig> = {};
  for (const t of plan.tables) {
    out[t.name] = {
      ...(t.key ? { key: [...t.key] } : {}),
      ...(t.targetName ? { targetName: t.targetName } : {}),
      ...(t.columnMap ? { columnMap: { ...t.columnMap } } : {}),
      ...(t.excludeColumns ? { excludeColumns: [...t.excludeColumns] } : {}),
    };
  }
  return out;
}
