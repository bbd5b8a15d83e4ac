import { updatedAtZone, windowInZone } from './window-zone.js';
import type mysql from 'mysql2/promise';
import type {
  EncodedKey,
  RepairLoopInput,
  RepairLoopProgress,
  RunContext,
  TableSpec,
  VerifyInput,
} from '../contracts.js';
import { openBinlogStream } from '../cdc/stream.js';
import type { RowImage } from '../cdc/events.js';
import { redisOptions } from '../db/connections.js';
import { rowKey } from '../schema/index.js';
import { newConnection } from '../../switches/index.js';
import { readFailures } from './failures.js';
import { sleep } from '../verify/abort.js';
import { confirmDifferences } from '../verify/confirm.js';
import { reverseScanDeletes, verifyUpdatedSince } from '../verify/incremental.js';
import { loadPair, sides, type TablePair, type TableSide } from '../verify/pair.js';
import { compareKeys } from '../verify/rows.js';
import { verifyTable } from '../verify/verifyTable.js';
import { PendingKeys } from './pending.js';
import { repairKeys } from './repairKeys.js';

interface LoopTable {
  spec: TableSpec;
  pair: TablePair;
  auth: TableSide;
  other: TableSide;
  /** updated_at mode, DATETIME updatedAtColumn: the zone the application writes it in. */
  datetimeZone?: string;
}

export interface RepairLoopTuning {
  /** updated_at mode: windows overlap by this much, for transactions that commit late (default 5 s). */
  overlapMs?: number;
  /** updated_at mode: a reverse scan for deletes every this many windows (default 10). */
  reverseScanEvery?: number;
  /** Redis XREAD block time (default 1000 ms). */
  redisBlockMs?: number;
}

/**
 * The continuous incremental verify+repair loop of phases 6 and 8, from the authoritative side to the other:
 *  - mode 'binlog': every row change on the authoritative side (its binlog) schedules a compare of that key
 *    after delayMs (the dual write or CDC has had time to land); keys that still differ are repaired;
 *  - mode 'updated_at': every intervalMs, rows whose updatedAtColumn falls in the last window are compared
 *    and repaired (tables without one are fully verified instead), and every few windows a key-only reverse
 *    scan removes rows the authoritative side deleted;
 *  - both: entries of the Redis stream of failed dual writes (fields table, key, op, side; unknown fields
 *    ignored; key null = the whole table) are compared and repaired at once.
 * Repairs always re-read the authoritative side. Runs until ctx.signal aborts, then throws its reason.
 */
export async function runRepairLoop(
  input: RepairLoopInput,
  ctx: RunContext<RepairLoopProgress> = {},
  tuning: RepairLoopTuning = {},
): Promise<never> {
  const signal = ctx.signal;
  const progress: RepairLoopProgress = ctx.resume
    ? { ...ctx.resume, repaired: { ...ctx.resume.repaired } }
    : { checked: 0, repaired: { missing: 0, extra: 0, different: 0 }, pending: 0 };
  const delayMs = input.delayMs ?? 1000;
  const tables = new Map<string, LoopTable>();
  for (const spec of input.tables) {
    const pair = await loadPair(input, spec);
    const t: LoopTable = { spec, pair, ...sides(pair, input.authoritative) };
    const col = pair.source.info.columns.find((c) => c.name === spec.updatedAtColumn);
    if (input.mode === 'updated_at' && col?.dataType === 'datetime') {
      t.datetimeZone = await updatedAtZone(t.auth.pool, spec); // TIMESTAMP compares in UTC as is
      await windowInZone(t.auth.pool, spec, t.datetimeZone, '2000-01-01', '2000-01-01'); // unknown zone: fail now
    }
    tables.set(spec.name, t);
    if (spec.targetName) tables.set(spec.targetName, t);
  }
  const authName = (t: LoopTable) =>
    input.authoritative === 'source' ? t.spec.name : (t.spec.targetName ?? t.spec.name);
  const report = () => ctx.progress?.({ ...progress, repaired: { ...progress.repaired } });

  /** Compare keys now; re-check once after delayMs; repair what persists. */
  const checkAndRepair = async (t: LoopTable, keys: EncodedKey[]) => {
    const found = await compareKeys(t.auth, t.other, keys);
    progress.checked += keys.length;
    const diffs = found.length ? await confirmDifferences(t.auth, t.other, found, { rounds: 1, signal }) : [];
    if (diffs.length) {
      const fixed = await repairKeys(t.auth, t.other, diffs);
      progress.repaired.missing += fixed.missing;
      progress.repaired.extra += fixed.extra;
      progress.repaired.different += fixed.different;
    }
  };

  const fullTable = async (t: LoopTable) => {
    const vi: VerifyInput = {
      source: input.source,
      target: input.target,
      table: t.spec,
      authoritative: input.authoritative,
      repair: true,
    };
    const r = await verifyTable(vi, { signal });
    progress.checked += r.rowsCompared;
    progress.repaired.missing += r.repaired.missing;
    progress.repaired.extra += r.repaired.extra;
    progress.repaired.different += r.repaired.different;
  };

  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const workers: Promise<void>[] = [];
  const guard = (p: Promise<void>) =>
    p.catch((err: unknown) => {
      if (!stop.signal.aborted) stop.abort(err);
    });

  if (input.mode === 'binlog') {
    const pending = new PendingKeys();
    const watched = [...new Set([...tables.values()].map(authName))];
    const stream = await openBinlogStream({
      connection: input.authoritative === 'source' ? input.source : input.target,
      tables: watched,
      from: progress.position ?? 'head',
      signal: stop.signal,
    });
    let lastPosition = progress.position;
    workers.push(
      guard(
        (async () => {
          for await (const tx of stream) {
            const due = Date.now() + delayMs;
            for (const ch of tx.changes) {
              const t = tables.get(ch.table);
              if (!t) continue;
              const images: RowImage[] =
                ch.kind === 'insert'
                  ? [ch.after]
                  : ch.kind === 'delete'
                    ? [ch.before]
                    : [ch.before, ch.after];
              for (const img of images)
                pending.add(t.spec.name, rowKey(img, t.auth.key.names), due, lastPosition);
            }
            lastPosition = tx.position;
            if (pending.size === 0) progress.position = tx.position;
          }
        })(),
      ),
    );
    workers.push(
      guard(
        (async () => {
          while (!stop.signal.aborted) {
            const next = pending.nextDue();
            const wait = next === undefined ? Math.min(delayMs, 250) : Math.max(0, next - Date.now());
            if (wait > 0) await sleep(wait, stop.signal).catch(() => undefined);
            if (stop.signal.aborted) break;
            const batch = pending.takeDue(Date.now());
            for (const [table, keys] of batch) {
              const t = tables.get(table);
              if (t) await checkAndRepair(t, keys);
            }
            progress.position = pending.oldestBefore() ?? lastPosition ?? progress.position;
            progress.pending = pending.size;
            if (batch.size) report();
          }
        })(),
      ),
    );
  } else {
    const intervalMs = input.intervalMs ?? 30_000;
    const overlapMs = tuning.overlapMs ?? 5000;
    const every = tuning.reverseScanEvery ?? 10;
    workers.push(
      guard(
        (async () => {
          for (let round = 0; !stop.signal.aborted; round++) {
            const first = [...tables.values()][0];
            const [[row]] = await first.auth.pool.query<mysql.RowDataPacket[]>(
              'SELECT CAST(NOW(6) AS CHAR) AS now, CAST(NOW(6) - INTERVAL ? MICROSECOND AS CHAR) AS since',
              [(overlapMs + intervalMs * 2) * 1000],
            );
            const until = String(row.now);
            let since = String(row.since);
            if (progress.windowUntil) {
              const [[r2]] = await first.auth.pool.query<mysql.RowDataPacket[]>(
                'SELECT CAST(CAST(? AS DATETIME(6)) - INTERVAL ? MICROSECOND AS CHAR) AS since',
                [progress.windowUntil, overlapMs * 1000],
              );
              since = String(r2.since);
            }
            for (const t of new Set(tables.values())) {
              const base: VerifyInput = {
                source: input.source,
                target: input.target,
                table: t.spec,
                authoritative: input.authoritative,
                repair: true,
              };
              if (t.spec.updatedAtColumn) {
                // DATETIME holds the application's wall clock: the UTC window moves into its zone.
                const win = t.datetimeZone
                  ? await windowInZone(first.auth.pool, t.spec, t.datetimeZone, since, until)
                  : { since, until };
                const r = await verifyUpdatedSince(
                  { ...base, column: t.spec.updatedAtColumn, ...win },
                  { signal: stop.signal },
                );
                progress.checked += r.rowsCompared;
                progress.repaired.missing += r.repaired.missing;
                progress.repaired.extra += r.repaired.extra;
                progress.repaired.different += r.repaired.different;
                if (round % every === every - 1) {
                  const d = await reverseScanDeletes(base, { signal: stop.signal });
                  progress.repaired.missing += d.repaired.missing;
                  progress.repaired.extra += d.repaired.extra;
                }
              } else if (round % every === 0) {
                await fullTable(t);
              }
            }
            progress.windowUntil = until;
            report();
            await sleep(intervalMs, stop.signal).catch(() => undefined);
          }
        })(),
      ),
    );
  }

  if (input.redisFailureStream) {
    const redis = newConnection(redisOptions());
    const streamKey = input.redisFailureStream;
    workers.push(
      guard(
        (async () => {
          try {
            while (!stop.signal.aborted) {
              const { records, lastId } = await readFailures(
                redis,
                streamKey,
                progress.redisLastId ?? '0-0',
                200,
                tuning.redisBlockMs ?? 1000,
              );
              if (stop.signal.aborted) break;
              const byTable = new Map<LoopTable, EncodedKey[]>();
              const whole = new Set<LoopTable>();
              for (const r of records) {
                const t = tables.get(r.table);
                if (!t) continue; // not a table of this loop
                if (r.key === null) whole.add(t);
                else byTable.set(t, [...(byTable.get(t) ?? []), r.key]);
              }
              for (const [t, keys] of byTable) if (!whole.has(t)) await checkAndRepair(t, keys);
              for (const t of whole) await fullTable(t);
              if (lastId) {
                progress.redisLastId = lastId;
                report();
              }
            }
          } finally {
            redis.disconnect();
          }
        })(),
      ),
    );
  }

  await new Promise<void>((resolve) => {
    if (stop.signal.aborted) resolve();
    else stop.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.allSettled(workers);
  signal?.removeEventListener('abort', onAbort);
  report();
  const reason: unknown = stop.signal.reason;
  throw reason instanceof Error ? reason : new Error('repair loop stopped');
}
