import type { TableSpec } from '../contracts.js';
import { getPool, resolveConnection } from '../db/connections.js';
import { restoreSecondaryKeys } from './defer-keys.js';
import { quoteIdent } from '../db/identifiers.js';

/** Target table names from specs (targetName ?? name) or plain names. */
export function targetNames(tables: readonly (TableSpec | string)[]): string[] {
  return tables.map((t) => (typeof t === 'string' ? t : (t.targetName ?? t.name)));
}

/**
 * The BULK_COPY compensation: empties the given target tables (TRUNCATE; a missing table is skipped)
 * and re-adds secondary keys a copy deferred (defer-keys.ts). Idempotent. Pass table specs (the target name is used) or target table names.
 */
export async function truncateTargetTables(input: {
  target: string;
  tables: (TableSpec | string)[];
}): Promise<{ truncated: string[] }> {
  const pool = getPool(input.target);
  const truncated: string[] = [];
  for (const name of targetNames(input.tables)) {
    try {
      await pool.query(`TRUNCATE TABLE ${quoteIdent(name, 'table')}`);
      await restoreSecondaryKeys(pool, resolveConnection(input.target).database, name);
      truncated.push(name);
    } catch (err) {
      if ((err as { errno?: number }).errno !== 1146) throw err; // table does not exist: nothing to undo
    }
  }
  return { truncated };
}
