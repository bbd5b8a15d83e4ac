/**
 * Statements the router cannot mirror while dual writing (issue 10, hazard 9). Their effect on the
 * other side is unknown to the router, so running them on one side would make the sides differ with
 * nobody told: they are refused instead, with an error naming the statement and the rule.
 */
import { isDual, type Switches } from '../shared/switches.js';
import { UnmirrorableStatementError } from './errors.js';
import type { Analysis } from './sql/analysis.js';
import { firstKeyword } from './sql/lexer.js';

/** Statement types (node-sql-parser's) that change data or schema. */
const CHANGING = new Set([
  'insert',
  'replace',
  'update',
  'delete',
  'truncate',
  'alter',
  'drop',
  'rename',
  'create',
  'load_data',
]);

/** First keywords of statements that only read (for statements the parser rejects). */
const READING = new Set(['SELECT', 'SHOW', 'DESC', 'DESCRIBE', 'EXPLAIN', 'SET', 'USE', 'DO']);

/** Whether a statement the parser rejected may change data (everything but a few reading keywords). */
export function unparsedMayWrite(sql: string): boolean {
  return !READING.has(firstKeyword(sql));
}

/**
 * Throws UnmirrorableStatementError when the statement must not run while dual writing:
 *  - CALL: a procedure may change any table; the router cannot see which rows;
 *  - TRUNCATE / DDL / a write the analysis could not follow, on a migrated table;
 *  - several statements in one string, one of them changing a migrated table;
 *  - a statement the parser rejects that may write and names a migrated table (or any table when
 *    every table is migrated);
 *  - a multi-table UPDATE/DELETE naming a migrated table behind one that is not (it would run on the
 *    source only).
 * `touchesMigrated` tells whether the statement names a migrated table.
 */
export function checkMirrorable(
  sql: string,
  a: Analysis,
  s: Switches,
  touchesMigrated: boolean,
  isMigratedTable: (table: string) => boolean,
): void {
  if (!isDual(s.writeMode)) return;
  if ((a.kind === 'update' || a.kind === 'delete') && a.multiTable && !isMigratedTable(a.table.table)) {
    const migrated = a.tables.filter(isMigratedTable);
    if (migrated.length > 0)
      throw new UnmirrorableStatementError(
        sql,
        `multi-table ${a.kind.toUpperCase()} of a table outside the migration (${a.table.table}) joined with migrated ${migrated.join(', ')} while dual writing (${s.writeMode}): it runs on the source only, so changes to a migrated table would not be mirrored; name a migrated table first or split the statement`,
      );
  }
  const fix = 'run it before the dual-write phases or after TARGET_ONLY, or on both databases yourself';
  if (a.kind === 'other') {
    const types = a.statements ?? [];
    if (types.includes('call'))
      throw new UnmirrorableStatementError(
        sql,
        `CALL while dual writing (${s.writeMode}): the router cannot see what a procedure changes, so it cannot mirror it; ${fix}`,
      );
    const changing = types.filter((t) => CHANGING.has(t));
    if (changing.length > 0 && touchesMigrated) {
      const what =
        types.length > 1
          ? `several statements in one string (${types.join(', ')}), one of them changing a migrated table`
          : `${changing[0].toUpperCase()} on a migrated table`;
      throw new UnmirrorableStatementError(
        sql,
        `${what} while dual writing (${s.writeMode}): the router does not mirror it; send each statement separately (INSERT/UPDATE/DELETE are mirrored) or ${fix}`,
      );
    }
    return;
  }
  if (a.kind === 'unparsed' && touchesMigrated && unparsedMayWrite(sql)) {
    throw new UnmirrorableStatementError(
      sql,
      `statement not understood by the router's parser, naming a migrated table, while dual writing (${s.writeMode}): its rows cannot be mirrored; rewrite it (plain INSERT/UPDATE/DELETE/REPLACE) or ${fix}`,
    );
  }
}
