/**
 * On-disk layout of a state file `<path>`: the snapshot at `<path>` (JSON lines, header first) and
 * log generations `<path>.wal.<n>` appended to since. Loading reads the snapshot, then every log
 * generation newer than the snapshot's `covers`, in order; a line that does not parse (the torn
 * tail of a write that never finished, so never acknowledged) is skipped.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { ExecutionState } from '../state.js';
import { decodeLine, parseJson } from './codec.js';
import { applyRecord, type JournalRecord, type LoadedState, type MetaState } from './records.js';

export function walPath(path: string, gen: number): string {
  return `${path}.wal.${gen}`;
}

/** Log generations present next to `path`, ascending. */
export function walGenerations(path: string): number[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.wal.`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && /^\d+$/.test(f.slice(prefix.length)))
    .map((f) => Number(f.slice(prefix.length)))
    .sort((a, b) => a - b);
}

export interface Loaded {
  state: LoadedState | undefined;
  /** Highest log generation found (0 when none). */
  lastGen: number;
  /** Log generations the snapshot already contains (safe to delete). */
  covers: number;
}

/** The whole server state as the first version of the state file wrote it (one JSON object). */
interface LegacySnapshot {
  version: 1;
  namespaces?: MetaState['namespaces'];
  searchAttributes?: MetaState['searchAttributes'];
  executions?: ExecutionState[];
  schedules?: unknown;
}

function fromLegacy(snap: LegacySnapshot): LoadedState {
  const executions = new Map<string, ExecutionState>();
  for (const e of snap.executions ?? [])
    executions.set(`${e.namespace}\u0000${e.workflowId}\u0000${e.runId}`, e);
  return {
    meta: {
      namespaces: snap.namespaces ?? [],
      searchAttributes: snap.searchAttributes ?? {},
      schedules: snap.schedules,
    },
    executions,
  };
}

function applyLines(state: LoadedState, text: string, file: string, log: Logger): number {
  let applied = 0;
  let skipped = 0;
  for (const line of text.split('\n')) {
    const rec = decodeLine(line) as JournalRecord | undefined;
    if (!rec || typeof rec !== 'object' || !('t' in rec)) {
      if (line.trim()) skipped++;
      continue;
    }
    if (applyRecord(state, rec)) applied++;
    else skipped++;
  }
  if (skipped) log.warn(`${file}: skipped ${skipped} incomplete record(s)`);
  return applied;
}

export function loadState(path: string, log: Logger): Loaded {
  const gens = walGenerations(path);
  let state: LoadedState | undefined;
  let covers = 0;
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8');
    if (text.startsWith('{"t":"h"')) {
      const header = decodeLine(text.slice(0, text.indexOf('\n'))) as { covers?: number } | undefined;
      covers = header?.covers ?? 0;
      state = { executions: new Map() };
      applyLines(state, text, path, log);
    } else if (text.trim()) {
      state = fromLegacy(parseJson(text) as LegacySnapshot);
    }
  }
  for (const gen of gens) {
    if (gen <= covers) continue;
    state ??= { executions: new Map() };
    const file = walPath(path, gen);
    const n = applyLines(state, readFileSync(file, 'utf8'), file, log);
    log.debug(`replayed ${n} record(s) from ${file}`);
  }
  return { state, lastGen: gens.length ? gens[gens.length - 1]! : 0, covers };
}
