/**
 * The bypass watcher: tails one side's binlog with statement annotations and reports every row change
 * on a migrated table that neither a router nor the product's own writers made (README.md).
 */
import type { Redis } from 'ioredis';
import type { BinlogPosition, EncodedKey, RunContext, Side } from '../contracts.js';
import { openBinlogStream } from '../cdc/stream.js';
import type { RowImage } from '../cdc/events.js';
import { readCheckpoint } from '../cdc/checkpoint.js';
import { BinlogUnavailableError, comparePositions, headPosition } from '../cdc/position.js';
import { getPool } from '../db/connections.js';
import { rowKey } from '../schema/index.js';
import { sleep } from '../verify/abort.js';
import { loadPair, type TablePair } from '../verify/pair.js';
import { compareKeys } from '../verify/rows.js';
import { RepairStream, type RepairEntry } from '../../switches/index.js';
import { writerOf } from '../../shared/write-tags.js';
import { keyId } from '../verify/keys.js';
import { emptyProgress, recordForeign, streamIdAtLeast, tableOf } from './tally.js';
import type { BypassProgress, BypassWatchInput } from './types.js';

export interface BypassWatchDeps {
  /** Redis for the repair stream (the router's `migrator:<id>:repairs`). */
  redis: Redis;
  /** The repair loop's last consumed repair-stream id (clears table-level entries), if it runs. */
  repairCursor?: () => Promise<string | undefined>;
  /** How often handed keys are compared on both sides (default 1000 ms). */
  confirmEveryMs?: number;
}

function other(side: Side): Side {
  return side === 'source' ? 'target' : 'source';
}

/** Where to start: the later of this watcher's checkpoint and the hand-over point, else the head. */
async function startPosition(
  input: BypassWatchInput,
  resume: BinlogPosition | null,
): Promise<BinlogPosition> {
  let from = resume;
  if (input.side === 'source' && input.handOverStream) {
    const cdc = await readCheckpoint(getPool(input.target), input.handOverStream);
    if (cdc && (!from || comparePositions(cdc.position, from) > 0)) from = cdc.position;
  }
  return from ?? headPosition(getPool(input.side === 'source' ? input.source : input.target));
}

/**
 * Runs until ctx.signal aborts (then throws its reason). Progress (position, counts, keys not yet
 * seen repaired) goes to ctx.progress; a restarted watcher resumes from ctx.resume.
 */
export async function runBypassWatch(
  input: BypassWatchInput,
  ctx: RunContext<BypassProgress>,
  deps: BypassWatchDeps,
): Promise<never> {
  const signal = ctx.signal;
  const progress: BypassProgress = ctx.resume
    ? (JSON.parse(JSON.stringify(ctx.resume)) as BypassProgress)
    : emptyProgress(input.side);
  const report = () => ctx.progress?.(JSON.parse(JSON.stringify(progress)) as BypassProgress);
  const side = input.side;
  const pairs = new Map<string, TablePair>();
  /** This side's table name -> pair. */
  const byName = new Map<string, TablePair>();
  for (const spec of input.tables) {
    const pair = await loadPair(input, spec);
    pairs.set(spec.name, pair);
    byName.set(side === 'source' ? spec.name : (spec.targetName ?? spec.name), pair);
  }

  let from: BinlogPosition;
  try {
    from = await startPosition(input, progress.position);
  } catch (err) {
    if (!(err instanceof BinlogUnavailableError)) throw err;
    // A side without a binlog cannot be watched: say so and idle (no retry storm).
    progress.unavailable = err.message;
    report();
    await sleep(2 ** 31 - 1, signal);
    throw signal?.reason ?? new Error('bypass watch stopped');
  }
  progress.startedFrom ??= from;
  progress.position ??= from;
  report();

  const repairs = new RepairStream(deps.redis, input.migrationId);
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  if (signal?.aborted) stop.abort(signal.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const guard = (p: Promise<void>) =>
    p.catch((err: unknown) => {
      if (!stop.signal.aborted) stop.abort(err);
    });

  const stream = await openBinlogStream({
    connection: side === 'source' ? input.source : input.target,
    tables: [...byName.keys()],
    from,
    annotations: true,
    signal: stop.signal,
  });

  const tail = async () => {
    // Entries of a big transaction's fragments wait for its commit item (a fragment is re-read after a reconnect).
    let entries: RepairEntry[] = [];
    for await (const tx of stream) {
      const at = new Date(tx.timestamp).toISOString();
      for (const ch of tx.changes) {
        const pair = byName.get(ch.table);
        if (!pair) continue;
        const writer = writerOf(ch.statement);
        progress.changes[writer] += 1;
        if (writer !== 'foreign') continue;
        const names = pair[side].key.names;
        const images: RowImage[] =
          ch.kind === 'insert' ? [ch.after] : ch.kind === 'delete' ? [ch.before] : [ch.before, ch.after];
        const keys: EncodedKey[] = [];
        for (const img of images) {
          const k = rowKey(img, names);
          if (!keys.some((x) => keyId(x) === keyId(k))) keys.push(k);
        }
        const t = tableOf(progress, pair.spec.name);
        const { handKeys, overflow } = recordForeign(t, keys, ch.statement != null, at);
        const base = {
          table: pair.spec.name,
          op: ch.kind,
          side: other(side),
          error: `write that bypassed the router, seen in the ${side} binlog`,
          at,
        } as const;
        for (const key of handKeys) entries.push({ ...base, key });
        if (overflow) entries.push({ ...base, key: null });
      }
      if (tx.partial) continue;
      if (entries.length) {
        const ids = await repairs.append(entries);
        entries.forEach((e, i) => {
          if (e.key === null) tableOf(progress, e.table).overflowEntryId = ids[i];
        });
        entries = [];
      }
      progress.position = tx.position;
      report();
    }
  };

  // Handed keys count as repaired once both sides hold the same row (whoever repaired it).
  const confirm = async () => {
    while (!stop.signal.aborted) {
      await sleep(deps.confirmEveryMs ?? 1000, stop.signal).catch(() => undefined);
      if (stop.signal.aborted) break;
      let changed = false;
      const cursor = progress.tables.some((t) => t.overflowEntryId) ? await deps.repairCursor?.() : undefined;
      for (const t of progress.tables) {
        const pair = pairs.get(t.table);
        if (!pair) continue;
        if (t.unrepairedKeys.length) {
          const checked = new Set(t.unrepairedKeys.map(keyId));
          const diffs = await compareKeys(pair.source, pair.target, [...t.unrepairedKeys]);
          const still = new Set(diffs.map((d) => keyId(d.key)));
          const before = t.unrepairedKeys.length;
          // Keys recorded while the compare ran stay until the next round.
          t.unrepairedKeys = t.unrepairedKeys.filter((k) => !checked.has(keyId(k)) || still.has(keyId(k)));
          if (t.unrepairedKeys.length !== before) changed = true;
        }
        if (t.overflowEntryId && cursor && streamIdAtLeast(cursor, t.overflowEntryId)) {
          t.overflowEntryId = undefined;
          t.overflowKeys = 0;
          changed = true;
        }
      }
      if (changed) report();
    }
  };

  await Promise.allSettled([
    guard(tail().then(() => stop.abort(signal?.reason ?? new Error('binlog stream ended')))),
    guard(confirm()),
  ]);
  await stream.close();
  signal?.removeEventListener('abort', onAbort);
  report();
  const reason: unknown = stop.signal.reason;
  throw reason instanceof Error ? reason : new Error('bypass watch stopped');
}
