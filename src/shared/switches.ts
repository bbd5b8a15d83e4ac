/**
 * The switches' vocabulary, shared by the workflow, the activities, src/switches and the router (which
 * runs inside applications and must not depend on the worker's code). Pure: types and tiny functions.
 */

export type Side = 'source' | 'target';

export type WriteMode = 'SOURCE_ONLY' | 'DUAL_SOURCE_FIRST' | 'DUAL_TARGET_FIRST' | 'TARGET_ONLY';

export interface Switches {
  writeMode: WriteMode;
  /** 0-100: share of reads sent to the target. */
  readPercent: number;
  shadowRead: boolean;
  /**
   * Write hold (the fence of a write-mode change): routers start no new write on a migrated table
   * while it is set, and acknowledge its version once their running writes are done.
   */
  hold?: boolean;
  /**
   * The hold's lease (ms): once it has run out by Redis's clock, any router may release the hold, so
   * writes resume when the worker that set it died. Absent: the hold has no lease.
   */
  holdMs?: number;
  version: number;
  updatedAt: string;
  updatedBy: string;
  /** The lifetime of the switch hash in Redis (a new one after Redis lost it); '' when unknown. */
  epoch?: string;
}

export type SwitchChange = Partial<Pick<Switches, 'writeMode' | 'readPercent' | 'shadowRead' | 'hold'>>;

export interface RouterAcks {
  version: number;
  acked: string[];
  pending: string[];
  allAcked: boolean;
  /** Redis holds no switches for the migration (lost): no acknowledgement can count until they are written again. */
  switchesAbsent?: boolean;
  /** How long each live router that reports it lets a write wait on a hold (ms), by router id. */
  holdMaxMs?: Record<string, number>;
}

/**
 * A key value that survives JSON (heartbeat details, activity results, workflow state, Redis streams):
 * strings and numbers as they are, binary values as base64, NULL as null.
 */
export type EncodedValue = string | number | null | { b64: string };
export type EncodedKey = EncodedValue[];

/** The side whose result the application gets, and from which the other side is made equal. */
export function authoritativeSide(mode: WriteMode): Side {
  return mode === 'SOURCE_ONLY' || mode === 'DUAL_SOURCE_FIRST' ? 'source' : 'target';
}

export function isDual(mode: WriteMode): boolean {
  return mode === 'DUAL_SOURCE_FIRST' || mode === 'DUAL_TARGET_FIRST';
}

export const otherSide = (side: Side): Side => (side === 'source' ? 'target' : 'source');
