/**
 * What the log and the snapshot hold, and how a sequence of records rebuilds the state.
 *
 * Records are replayed in order; each one is a replacement, so replaying an older record followed
 * by every later one ends in the latest state:
 * - `m`: all server-wide metadata (namespaces, search attributes, schedules);
 * - `x`: one run's full state except its history, plus the history from event index `b` on
 *   (the history is cut to `b` events, then `e` is appended; history only ever grows);
 * - `e`: more history of a run (same cut-and-append rule), used to write long histories in chunks;
 * - `d`: a run was deleted (retention, DeleteWorkflowExecution);
 * - `h`: the first line of a snapshot: which log generations it already contains.
 */
import type { NamespaceRecord } from '../namespaces.js';
import type { HistoryEvent } from '../proto.js';
import type { ExecutionState } from '../state.js';

export interface MetaState {
  namespaces: NamespaceRecord[];
  searchAttributes: Record<string, Record<string, number>>;
  schedules?: unknown;
}

export type RunState = Omit<ExecutionState, 'history'>;

export type JournalRecord =
  | { t: 'h'; v: 2; covers: number; savedAt: string }
  | { t: 'm'; m: MetaState }
  | { t: 'x'; k: string; s: RunState; b: number; e: HistoryEvent[] }
  | { t: 'e'; k: string; b: number; e: HistoryEvent[] }
  | { t: 'd'; k: string };

/** The state a snapshot plus its logs describe. */
export interface LoadedState {
  meta?: MetaState;
  executions: Map<string, ExecutionState>;
}

export function runState(exec: ExecutionState): RunState {
  const { history: _history, ...rest } = exec;
  return rest;
}

function setHistory(history: HistoryEvent[], base: number, events: HistoryEvent[]): boolean {
  if (base > history.length) return false;
  history.length = base;
  for (const ev of events) history.push(ev);
  return true;
}

/** Applies one record; returns false when it does not fit the state (then it is skipped). */
export function applyRecord(state: LoadedState, rec: JournalRecord): boolean {
  switch (rec.t) {
    case 'h':
      return true;
    case 'm':
      state.meta = rec.m;
      return true;
    case 'x': {
      const history = state.executions.get(rec.k)?.history ?? [];
      if (!setHistory(history, rec.b, rec.e)) return false;
      state.executions.set(rec.k, { ...rec.s, history });
      return true;
    }
    case 'e': {
      const exec = state.executions.get(rec.k);
      return exec ? setHistory(exec.history, rec.b, rec.e) : false;
    }
    case 'd':
      state.executions.delete(rec.k);
      return true;
  }
}
