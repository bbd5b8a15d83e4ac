/** Classifies the SQL text of binlog query events (DDL, statement-logged DML, transaction control). */

const DDL = /^\s*(ALTER|DROP|RENAME|TRUNCATE|CREATE|OPTIMIZE|REPAIR|ANALYZE\s+TABLE\s+\S+\s+PERSISTENT)\b/i;
const DML = /^\s*(INSERT|UPDATE|DELETE|REPLACE|LOAD\s+DATA)\b/i;

export function stripComments(sql: string): string {
  return sql
    .replace(/\/\*(?!!)[\s\S]*?\*\//g, ' ')
    .replace(/\/\*!\d*\s*([\s\S]*?)\*\//g, '$1')
    .replace(/(--\s|#)[^\n]*/g, ' ')
    .trim();
}

export function isTransactionControl(sql: string): 'begin' | 'commit' | 'rollback' | null {
  const s = stripComments(sql).toUpperCase();
  if (s === 'BEGIN' || s.startsWith('START TRANSACTION') || s.startsWith('XA START')) return 'begin';
  if (s === 'COMMIT' || s.startsWith('XA COMMIT')) return 'commit';
  if (s === 'ROLLBACK' || s.startsWith('XA ROLLBACK')) return 'rollback';
  return null;
}

/**
 * The watched table a statement names (as a whole word, with or without backticks or a schema
 * qualifier), or null. Conservative: a statement that merely mentions the name also matches, which
 * stops the stream with a clear error rather than risk missing a schema change.
 */
export function touchedTable(sql: string, tables: ReadonlySet<string>, kind: 'ddl' | 'dml'): string | null {
  const s = stripComments(sql);
  if (!(kind === 'ddl' ? DDL : DML).test(s)) return null;
  const words = s.replace(/[`"]/g, ' ').split(/[^A-Za-z0-9_$\u0080-\uFFFF]+/u);
  for (const w of words) if (tables.has(w)) return w;
  return null;
}
