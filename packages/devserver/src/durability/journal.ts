/**
 * Write-ahead journal: every change is appended to the current log generation and fsync'd before
 * the call that caused it is answered; the log is compacted into a snapshot in the background.
 *
 * - The engine marks what changed (a run, a deleted run, the metadata). `commit()` turns the marks
 *   into records at once (the state as it is now), queues them and resolves when they are on disk.
 *   Concurrent commits share one write + fdatasync (group commit); a commit with nothing marked
 *   waits only for the batch already in flight, so what a reply shows is never less durable than
 *   the reply.
 * - Changes no call waits for (timers firing, retries, tasks timing out) are committed on the next
 *   turn of the event loop.
 * - Compaction: once the log passes `compactBytes` (and the last snapshot's size, so rewriting the
 *   snapshot costs at most as much again as the log did), the writer moves to a new generation and the
 *   whole state is written to `<path>.tmp` a few records at a time (yielding to the event loop
 *   every couple of milliseconds), fsync'd, renamed over the snapshot, and the older generations
 *   are deleted. A crash at any point leaves either the old snapshot with all its logs or the new
 *   one with the logs it does not cover.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { ExecutionState } from '../state.js';
import { encodeLine } from './codec.js';
import { walGenerations, walPath, type Loaded } from './files.js';
import { runState, type JournalRecord, type MetaState } from './records.js';

export interface JournalSource {
  meta(): MetaState;
  execution(key: string): ExecutionState | undefined;
  executions(): Iterable<[string, ExecutionState]>;
}

export interface JournalOptions {
  /** Compact once the current log generation holds this many bytes (default 32 MiB). */
  compactBytes?: number;
}

export interface JournalStats {
  /** Batches written and fsync'd. */
  syncs: number;
  bytes: number;
  compactions: number;
  lastCompactionMs: number;
  /** Longest stretch the last compaction ran without yielding to the event loop (wall clock). */
  longestSliceMs: number;
  /**
   * The most CPU time (process-wide, user + system) one slice of the last compaction used: unlike the
   * wall clock, it does not count the time a busy machine kept the process off the CPU.
   */
  longestSliceCpuMs: number;
}

interface Batch {
  lines: string[];
  done: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

/** History events per snapshot record, and how long one compaction slice may run. */
const CHUNK_EVENTS = 100;
const SLICE_MS = 2;

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {});
  return { lines: [], done, resolve, reject };
}

export class Journal {
  readonly stats: JournalStats = {
    syncs: 0,
    bytes: 0,
    compactions: 0,
    lastCompactionMs: 0,
    longestSliceMs: 0,
    longestSliceCpuMs: 0,
  };
  private readonly dirty = new Set<string>();
  private readonly deleted = new Set<string>();
  private metaDirty = false;
  /** History length already in the log, per run. */
  private readonly logged = new Map<string, number>();
  private next: Batch | undefined;
  private current: Batch | undefined;
  private writing = false;
  private rotateWaiter: ((oldGen: number) => void) | undefined;
  private autoCommit = false;
  private compaction: Promise<void> | undefined;
  private closed = false;
  private walBytes = 0;
  /** The last write failed: the log may end in a partial line. */
  private torn = false;
  /** Size of the last snapshot: the log may grow as large before the next (bounded write amplification). */
  private snapshotBytes = 0;

  private constructor(
    private readonly path: string,
    private readonly log: Logger,
    private readonly source: JournalSource,
    private gen: number,
    private fh: FileHandle,
    private readonly compactBytes: number,
  ) {}

  /** Opens a fresh log generation after `loaded`; compacts in the background when older logs exist. */
  static async open(
    path: string,
    log: Logger,
    source: JournalSource,
    loaded: Loaded,
    options: JournalOptions = {},
  ): Promise<Journal> {
    const gen = loaded.lastGen + 1;
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(walPath(path, gen), 'a');
    const journal = new Journal(path, log, source, gen, fh, options.compactBytes ?? 32 * 1024 * 1024);
    journal.snapshotBytes = existsSync(path) ? statSync(path).size : 0;
    for (const [key, exec] of source.executions()) journal.logged.set(key, exec.history.length);
    if (loaded.lastGen > loaded.covers) journal.startCompaction();
    return journal;
  }

  markExec(key: string): void {
    this.dirty.add(key);
    this.scheduleAutoCommit();
  }

  markDeleted(key: string): void {
    this.dirty.delete(key);
    this.logged.delete(key);
    this.deleted.add(key);
    this.scheduleAutoCommit();
  }

  markMeta(): void {
    this.metaDirty = true;
    this.scheduleAutoCommit();
  }

  /** Resolves once every change marked so far is on disk. */
  commit(): Promise<void> {
    this.collect();
    const target = this.next ?? this.current;
    if (!target) return Promise.resolve();
    this.kick();
    return target.done;
  }

  /** Writes a snapshot now (normally triggered by the log's size). */
  compact(): Promise<void> {
    this.startCompaction();
    return this.compaction ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.commit();
    this.closed = true;
    await this.compaction;
    await this.fh.close();
  }

  // ------------------------------------------------------------------ writing

  private scheduleAutoCommit(): void {
    if (this.autoCommit || this.closed) return;
    this.autoCommit = true;
    setImmediate(() => {
      this.autoCommit = false;
      this.commit().catch((err: Error) => this.log.error(`state log write failed: ${err.message}`));
    });
  }

  private push(rec: JournalRecord): void {
    this.next ??= newBatch();
    this.next.lines.push(encodeLine(rec));
  }

  /** Turns the marks into records describing the state as it is now. */
  private collect(): void {
    for (const k of this.deleted) this.push({ t: 'd', k });
    this.deleted.clear();
    if (this.metaDirty) {
      this.metaDirty = false;
      this.push({ t: 'm', m: this.source.meta() });
    }
    for (const k of this.dirty) {
      const exec = this.source.execution(k);
      if (!exec) continue;
      let b = this.logged.get(k) ?? 0;
      if (b > exec.history.length) b = 0;
      this.push({ t: 'x', k, s: runState(exec), b, e: exec.history.slice(b) });
      this.logged.set(k, exec.history.length);
    }
    this.dirty.clear();
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = true;
    void this.writeLoop().finally(() => {
      this.writing = false;
      if (this.next || this.rotateWaiter) this.kick();
    });
  }

  private async writeLoop(): Promise<void> {
    while (this.next || this.rotateWaiter) {
      if (this.rotateWaiter) {
        const waiter = this.rotateWaiter;
        this.rotateWaiter = undefined;
        const old = this.gen;
        await this.fh.close();
        this.gen += 1;
        this.fh = await open(walPath(this.path, this.gen), 'a');
        this.walBytes = 0;
        waiter(old);
        continue;
      }
      const batch = this.next!;
      this.next = undefined;
      this.current = batch;
      try {
        // After a failed write the file may end in a partial line: start on a fresh one.
        const data = Buffer.from((this.torn ? '\n' : '') + batch.lines.join(''));
        this.torn = false;
        await this.fh.write(data);
        await this.fh.datasync();
        this.walBytes += data.length;
        this.stats.syncs += 1;
        this.stats.bytes += data.length;
        batch.resolve();
      } catch (err) {
        batch.reject(err as Error);
        this.resync();
      } finally {
        if (this.current === batch) this.current = undefined;
      }
      if (this.walBytes >= Math.max(this.compactBytes, this.snapshotBytes)) this.startCompaction();
    }
  }

  /**
   * After a failed write (part of a batch may be on disk, the rest is not): the next batch rewrites
   * every run whole, so what follows on disk does not depend on the lost records.
   */
  private resync(): void {
    this.torn = true;
    this.logged.clear();
    for (const [k] of this.source.executions()) this.dirty.add(k);
    this.metaDirty = true;
    this.scheduleAutoCommit();
  }

  /** Moves the writer to a new log generation between two batches; resolves with the old one. */
  private rotate(): Promise<number> {
    return new Promise((resolve) => {
      this.rotateWaiter = resolve;
      this.kick();
    });
  }

  // ------------------------------------------------------------------ compaction

  private startCompaction(): void {
    if (this.compaction || this.closed) return;
    this.compaction = this.writeSnapshot()
      .catch((err: Error) =>
        this.closed
          ? this.log.debug(`state snapshot abandoned: ${err.message}`)
          : this.log.error(`state snapshot failed: ${err.message}`),
      )
      .finally(() => {
        this.compaction = undefined;
      });
  }

  private async writeSnapshot(): Promise<void> {
    const started = performance.now();
    const covers = await this.rotate();
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w');
    let buf: string[] = [];
    let bytes = 0;
    let sliceStart = performance.now();
    let sliceCpu = process.cpuUsage();
    let longest = 0;
    let longestCpu = 0;
    const add = async (rec: JournalRecord) => {
      buf.push(encodeLine(rec));
      const slice = performance.now() - sliceStart;
      if (slice < SLICE_MS) return;
      longest = Math.max(longest, slice);
      const cpu = process.cpuUsage(sliceCpu);
      longestCpu = Math.max(longestCpu, (cpu.user + cpu.system) / 1000);
      const data = buf.join('');
      buf = [];
      bytes += Buffer.byteLength(data);
      await fh.write(data);
      await yieldToLoop();
      sliceStart = performance.now();
      sliceCpu = process.cpuUsage();
    };
    let runs = 0;
    try {
      await add({ t: 'h', v: 2, covers, savedAt: new Date().toISOString() });
      await add({ t: 'm', m: this.source.meta() });
      for (const [k, exec] of this.source.executions()) {
        if (this.closed) throw new Error('server stopping');
        // The run's state and the history length that goes with it, taken together.
        const len = exec.history.length;
        const history = exec.history;
        await add({ t: 'x', k, s: runState(exec), b: 0, e: [] });
        for (let i = 0; i < len; i += CHUNK_EVENTS) {
          await add({ t: 'e', k, b: i, e: history.slice(i, Math.min(i + CHUNK_EVENTS, len)) });
        }
        runs++;
      }
      const rest = buf.join('');
      bytes += Buffer.byteLength(rest);
      await fh.write(rest);
      await fh.datasync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fh.close();
    await rename(tmp, this.path);
    const dir = await open(dirname(this.path), 'r');
    await dir.sync().finally(() => dir.close());
    for (const gen of walGenerations(this.path)) {
      if (gen <= covers) await unlink(walPath(this.path, gen)).catch(() => {});
    }
    this.snapshotBytes = bytes;
    this.stats.longestSliceMs = longest;
    this.stats.longestSliceCpuMs = longestCpu;
    this.stats.compactions += 1;
    this.stats.lastCompactionMs = performance.now() - started;
    this.log.debug(
      `state snapshot: ${runs} runs in ${this.stats.lastCompactionMs.toFixed(0)}ms; log generations <= ${covers} removed`,
    );
  }
}
