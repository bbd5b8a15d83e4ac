import type { Side, Switches } from '../shared/switches.js';
import type { RepairOp } from '../switches/repairs.js';

/** Counters for the demo and for monitoring. */
export interface RouterStats {
  /** Statements the application issued, by the side that answered them. */
  reads: Record<Side, number>;
  writes: Record<Side, number>;
  /** Writes mirrored to the other side successfully. */
  mirrored: number;
  /** Writes (or committed transactions) whose mirror failed; their keys went to the repair stream. */
  dualWriteFailures: number;
  /** Writes whose touched rows could not be determined: a table-level repair entry was logged. */
  tableLevelRepairs: number;
  repairEntriesWritten: number;
  repairEntriesPending: number;
  shadowReads: number;
  shadowMismatches: number;
  shadowErrors: number;
  /** Reads that failed on one side with a connection error and were answered by the other (dual modes only). */
  readFallbacks: number;
  /** Statements the parser did not understand (sent to the authoritative side only). */
  unparsed: number;
  /** Reads routed to the target that it cannot answer for a mapped table, answered by the source. */
  unmappedReads: number;
  /** Statements refused (UnmappableStatementError, UnmirrorableStatementError). */
  refused: number;
  transactions: number;
  switchVersion: number;
  /** False while the router runs on fallback switches (never loaded any from Redis). */
  switchesLoaded: boolean;
  redisConnected: boolean;
}

export type RouterEvent =
  | { type: 'switches'; switches: Switches; previous: Switches }
  | { type: 'dual-write-failed'; table: string; op: RepairOp; side: Side; keys: number; error: string }
  | { type: 'table-level-repair'; table: string; op: RepairOp; reason: string }
  | { type: 'shadow-mismatch'; sql: string; primary: Side; primaryRows: number; shadowRows: number }
  | { type: 'shadow-error'; sql: string; side: Side; error: string }
  | { type: 'read-fallback'; sql: string; failed: Side; error: string }
  | { type: 'switch-cache-error'; error: string }
  /** A write hold whose lease is longer than this router's holdMaxMs: held writes may fail first. */
  | { type: 'hold-outlasts-limit'; version: number; holdMs: number; holdMaxMs: number }
  | { type: 'unparsed'; sql: string }
  | { type: 'unmapped-read'; sql: string; reason: string }
  | { type: 'refused'; sql: string; code: string; rule: string }
  | { type: 'repair-log-error'; error: string; pending: number }
  | { type: 'redis'; state: 'connected' | 'disconnected'; error?: string };

export function emptyStats(): RouterStats {
  return {
    reads: { source: 0, target: 0 },
    writes: { source: 0, target: 0 },
    mirrored: 0,
    dualWriteFailures: 0,
    tableLevelRepairs: 0,
    repairEntriesWritten: 0,
    repairEntriesPending: 0,
    shadowReads: 0,
    shadowMismatches: 0,
    shadowErrors: 0,
    readFallbacks: 0,
    unparsed: 0,
    unmappedReads: 0,
    refused: 0,
    transactions: 0,
    switchVersion: 0,
    switchesLoaded: false,
    redisConnected: false,
  };
}
