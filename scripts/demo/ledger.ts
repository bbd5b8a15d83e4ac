import type mysql from 'mysql2/promise';
import { DEMO_COLUMNS, DEMO_KEYS, type DemoTable } from './schema.js';

/** A row as comparable text: every column, binary values as `x<hex>`, NULL as null. */
export type Row = Record<string, string | null>;

/**
 * One write the application sent, in the order it sent them (per lane; lanes own disjoint keys, so the
 * order of the writes to one key is the order of its lane's entries).
 */
export interface LedgerEntry {
  /** Position in its app process's ledger. */
  seq: number;
  lane: number;
  table: DemoTable;
  op: 'insert' | 'update' | 'delete';
  /** Key columns; null for an insert whose generated id is unknown (it failed, it may have happened). */
  key: Row | null;
  /** insert: every column; update: the columns it set (updated_at included). */
  values?: Row;
  /**
   * 'ack': the database acknowledged it. 'unknown': it failed (e.g. the connection broke mid-way), so
   * it may or may not have happened: the check accepts both.
   */
  outcome: 'ack' | 'unknown';
}

/** The value text mysql2 gives back (dateStrings, bigNumberStrings), binary as `x<hex>`. */
export function canonical(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return `x${v.toString('hex')}`;
  return String(v);
}

export function keyText(table: DemoTable, row: Row): string {
  return JSON.stringify(DEMO_KEYS[table].map((c) => row[c]));
}

type State = Row | 'absent';

function sameState(a: State, b: State): boolean {
  if (a === 'absent' || b === 'absent') return a === b;
  return Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
}

/** A full row: exactly the table's columns (so that the check compares every one of them). */
function fullRow(table: DemoTable, values: Row | undefined, what: string): Row {
  const cols = Object.keys(values ?? {}).sort();
  const want = [...DEMO_COLUMNS[table]].sort();
  if (cols.join(',') !== want.join(','))
    throw new Error(`${what}: a ${table} row needs exactly ${want.join(', ')}, got ${cols.join(', ')}`);
  return { ...(values as Row) };
}

function apply(state: State, e: LedgerEntry): State {
  if (e.op === 'delete') return 'absent';
  if (e.op === 'insert') return fullRow(e.table, e.values, `ledger entry ${e.lane}/${e.seq}`);
  return state === 'absent' ? 'absent' : { ...state, ...(e.values as Row) };
}

/** What each key may hold after the ledger: one state, or several where a write's outcome is unknown. */
export class Expected {
  /** table -> key text -> possible states */
  readonly states = new Map<DemoTable, Map<string, State[]>>();
  /** Inserts with an unknown outcome and id: rows that may exist (matched on every column but the key). */
  readonly maybeInserted = new Map<DemoTable, Row[]>();
  /**
   * Keys two acknowledged inserts both got: a generated id handed out twice (e.g. both servers assigned
   * auto-increment ids at once). One of the two rows cannot be on the servers.
   */
  readonly idsHandedOutTwice: string[] = [];

  constructor(seed: Record<DemoTable, Row[]>) {
    for (const [table, rows] of Object.entries(seed) as [DemoTable, Row[]][]) {
      const m = new Map<string, State[]>();
      for (const r of rows) m.set(keyText(table, r), [fullRow(table, r, 'seed row')]);
      this.states.set(table, m);
      this.maybeInserted.set(table, []);
    }
  }

  /** Applies the entries of every lane; each lane's entries must be in its own order. */
  apply(entries: LedgerEntry[]): this {
    const ordered = [...entries].sort((a, b) => a.lane - b.lane || a.seq - b.seq);
    for (const e of ordered) {
      if (e.key === null) {
        if (e.op !== 'insert' || e.outcome !== 'unknown')
          throw new Error(`ledger entry ${e.lane}/${e.seq}: only an unknown insert lacks its key`);
        this.maybeInserted.get(e.table)!.push(fullRow(e.table, e.values, `ledger entry ${e.lane}/${e.seq}`));
        continue;
      }
      const m = this.states.get(e.table)!;
      const k = keyText(e.table, e.key);
      const before = m.get(k) ?? ['absent'];
      if (e.op === 'insert' && e.outcome === 'ack' && before.every((x) => x !== 'absent'))
        this.idsHandedOutTwice.push(`${e.table} ${k} (inserted again by lane ${e.lane}, write ${e.seq})`);
      const after = before.map((s) => apply(s, e));
      const next = e.outcome === 'ack' ? after : [...before, ...after];
      m.set(
        k,
        next.filter((s, i) => next.findIndex((t) => sameState(s, t)) === i),
      );
    }
    return this;
  }
}

export interface SideCheck {
  side: 'source' | 'target';
  table: DemoTable;
  rows: number;
  /** Rows that differ from every state the ledger allows, rows missing, rows nobody wrote. */
  problems: string[];
}

function describeDiff(expected: Row, actual: Row): string {
  const cols = Object.keys(expected).filter((c) => expected[c] !== actual[c]);
  return cols
    .map((c) => `${c}=${JSON.stringify(actual[c])} (expected ${JSON.stringify(expected[c])})`)
    .join(', ');
}

/**
 * The independent check of one side: every row of the table, every column, against what the seed and
 * the application's acknowledged writes say it must hold. Uses none of the product's code.
 */
export async function checkSide(
  conn: mysql.Connection,
  side: 'source' | 'target',
  table: DemoTable,
  expected: Expected,
): Promise<SideCheck> {
  const order = DEMO_KEYS[table].map((c) => `\`${c}\``).join(', ');
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT * FROM \`${table}\` ORDER BY ${order}`);
  const states = expected.states.get(table)!;
  const maybe = [...expected.maybeInserted.get(table)!];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const raw of rows) {
    const actual: Row = {};
    for (const [c, v] of Object.entries(raw)) actual[c] = canonical(v);
    const k = keyText(table, actual);
    seen.add(k);
    const allowed = states.get(k);
    if (!allowed) {
      const i = maybe.findIndex((m) =>
        Object.entries(m).every(([c, v]) => DEMO_KEYS[table].includes(c) || actual[c] === v),
      );
      if (i >= 0) maybe.splice(i, 1);
      else problems.push(`${table} ${k}: on the ${side} but never written`);
      continue;
    }
    if (allowed.some((s) => s !== 'absent' && Object.entries(s).every(([c, v]) => actual[c] === v))) continue;
    const rowState = allowed.find((s): s is Row => s !== 'absent');
    problems.push(
      rowState
        ? `${table} ${k}: ${describeDiff(rowState, actual)}`
        : `${table} ${k}: deleted by the application but present on the ${side}`,
    );
  }
  for (const [k, allowed] of states) {
    if (seen.has(k) || allowed.includes('absent')) continue;
    problems.push(`${table} ${k}: missing on the ${side}`);
  }
  return { side, table, rows: rows.length, problems };
}
