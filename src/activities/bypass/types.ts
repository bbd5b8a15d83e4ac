/**
 * The bypass watcher's input, progress and report (types only: the workflow imports them with
 * `import type`).
 */
import type { BinlogPosition, EncodedKey, Side, TableSpec } from '../contracts.js';

export interface BypassWatchInput {
  migrationId: string;
  /** The side whose binlog is read. */
  side: Side;
  /** Connection names. */
  source: string;
  target: string;
  tables: TableSpec[];
  /**
   * Forward CDC stream id (side 'source'): its checkpoint on the target is where CDC stopped carrying
   * source writes over, so the watcher starts there at the latest (a gapless hand-over).
   */
  handOverStream?: string;
}

/** Foreign writes to one table seen in one side's binlog. */
export interface BypassTable {
  /** The table as the plan names it (the application's name). */
  table: string;
  /** Row changes (insert, update, delete) no router and no product writer made. */
  count: number;
  /** The first keys changed, in binlog order (at most FIRST_KEYS). */
  firstKeys: EncodedKey[];
  /** Keys handed to the repair loop whose two sides were not yet seen equal (at most TRACKED_KEYS). */
  unrepairedKeys: EncodedKey[];
  /** Keys beyond TRACKED_KEYS: handed as one table-level entry (this id), unrepaired until the repair loop read past it. */
  overflowEntryId?: string;
  overflowKeys: number;
  /** Foreign changes whose statement text the binlog did not hold (annotations off for that writer). */
  unannotated: number;
  lastAt: string;
}

export interface BypassProgress {
  side: Side;
  /** Binlog position processed up to (every foreign change before it was handed to the repair loop). */
  position: BinlogPosition | null;
  /** Where this watcher started reading (the hand-over point, or the side's head). */
  startedFrom: BinlogPosition | null;
  changes: { router: number; product: number; foreign: number };
  tables: BypassTable[];
  /** Why the side cannot be watched (no binlog), if so. */
  unavailable?: string;
}

/** What the workflow shows: per table count, first keys and unrepaired count (no long key lists). */
export interface BypassReport {
  side: Side;
  position: BinlogPosition | null;
  startedFrom: BinlogPosition | null;
  changes: { router: number; product: number; foreign: number };
  tables: {
    table: string;
    count: number;
    firstKeys: EncodedKey[];
    unrepaired: number;
    unannotated: number;
    lastAt: string;
  }[];
  unavailable?: string;
}
