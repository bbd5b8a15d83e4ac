import type { BinlogPosition } from '../contracts.js';

/** One row image: column name -> value as decoded from the binlog (see values.ts for the mapping). */
export type RowImage = Record<string, unknown>;

export type RowChange = (
  | { kind: 'insert'; table: string; after: RowImage }
  | { kind: 'update'; table: string; before: RowImage; after: RowImage }
  | { kind: 'delete'; table: string; before: RowImage }
) & {
  /**
   * With `annotations`: the text of the statement that made the change (MariaDB ANNOTATE_ROWS, MySQL
   * Rows_query), or null when the server logged none for it.
   */
  statement?: string | null;
};

/** One committed source transaction, restricted to the watched tables (changes may be empty). */
export interface BinlogTransaction {
  /** The transaction's own GTID (domain-server-seq), when the server has GTIDs. */
  gtid?: string;
  /** Resume point right after this transaction: file/offset of its commit end, GTID position after it. */
  position: BinlogPosition;
  /** Commit time on the source (ms since epoch, second resolution). */
  timestamp: number;
  changes: RowChange[];
  /**
   * A fragment of a big source transaction: more of its changes follow in the next items, the last of
   * which (without `partial`) carries the commit. `position` of a fragment is not a resume point (it is
   * the previous transaction's). Consumers apply fragments without committing until that last item.
   */
  partial?: true;
}

/** A row image the applier cannot write (a missing column, an unsupported spatial value, ...): fatal. */
export class RowImageError extends Error {
  override name = 'RowImageError';
}

/** Thrown when a DDL statement touches a watched table: the stream stops, the operator decides. */
export class DdlOnWatchedTableError extends Error {
  override name = 'DdlOnWatchedTableError';
  constructor(
    readonly table: string,
    readonly statement: string,
    readonly position: BinlogPosition,
  ) {
    super(
      `DDL on migrated table ${table} at ${position.file}:${position.pos}` +
        `${position.gtid ? ` (GTID ${position.gtid})` : ''}: ${statement.slice(0, 200)} - ` +
        'schema changes are not replicated; apply the same change to the other side, then restart sync from a fresh copy of this table',
    );
  }
}

/** Thrown when a watched table's change arrives as a statement (binlog_format is not ROW). */
export class StatementFormatError extends Error {
  override name = 'StatementFormatError';
  constructor(
    readonly table: string,
    position: BinlogPosition,
  ) {
    super(
      `a change to ${table} at ${position.file}:${position.pos} was logged as a statement, not as row events: ` +
        "set binlog_format=ROW globally (SET GLOBAL binlog_format='ROW') and make sure writers reconnect",
    );
  }
}
