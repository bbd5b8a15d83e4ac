/**
 * What durability costs, measured in one run:
 * - the latency the fsync'd log adds to an acknowledged mutating call (a signal), against the same
 *   server in memory, with 1 and 8 concurrent clients (concurrent calls share fsyncs);
 * - the longest event-loop stall while a big state is compacted into a snapshot, against the
 *   synchronous whole-state JSON write the state file used before (timed on the same state).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServerOptions } from '../src/index.js';
import { encodeLine } from '../src/durability/codec.js';
import { loadState } from '../src/durability/files.js';
import { createLogger } from '../src/log.js';
import { ms, percentile, pool } from './util.js';

const SIGNALS = Number(process.env.BENCH_SIGNALS ?? 400);
const BIG_WORKFLOWS = Number(process.env.BENCH_BIG_WORKFLOWS ?? 400);
const BIG_SIGNALS = Number(process.env.BENCH_BIG_SIGNALS ?? 25);

/** Signal latencies per number of concurrent clients; the workflows have no worker (signals only append). */
async function signalLatencies(options: DevServerOptions): Promise<Map<number, number[]>> {
  const server = await startDevServer({ port: 0, logLevel: 'warn', ...options });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const out = new Map<number, number[]>();
  try {
    for (const clients of [1, 8]) {
      const handles = await Promise.all(
        Array.from({ length: clients }, (_, i) =>
          client.workflow.start('benchSignals', {
            taskQueue: 'no-worker',
            workflowId: `lat-${clients}-${i}-${Date.now()}`,
          }),
        ),
      );
      const latencies: number[] = [];
      await Promise.all(
        handles.map(async (h) => {
          for (let i = 0; i < SIGNALS / clients; i++) {
            const t = performance.now();
            await h.signal('s', i);
            latencies.push(performance.now() - t);
          }
        }),
      );
      out.set(
        clients,
        latencies.sort((a, b) => a - b),
      );
    }
  } finally {
    await connection.close();
    await server.stop();
  }
  return out;
}

async function latencyAddedByTheLog(dir: string): Promise<void> {
  const memory = await signalLatencies({});
  const disk = await signalLatencies({ dbFile: join(dir, 'latency') });
  for (const clients of [1, 8]) {
    const m = memory.get(clients)!;
    const d = disk.get(clients)!;
    console.log(
      `signal latency, ${clients} client(s), ${d.length} signals: in memory p50 ${ms(percentile(m, 50))} p99 ${ms(percentile(m, 99))}; ` +
        `state file (fsync before reply) p50 ${ms(percentile(d, 50))} p99 ${ms(percentile(d, 99))}; ` +
        `p99 added by the log: ${ms(percentile(d, 99) - percentile(m, 99))}`,
    );
  }
}

async function stallWhileSaving(dir: string): Promise<void> {
  const dbFile = join(dir, 'big');
  const server = await startDevServer({ port: 0, logLevel: 'warn', dbFile, compactBytes: 1e12 });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default' });
  const payload = 'x'.repeat(1024);
  try {
    await pool(BIG_WORKFLOWS, 16, async (i) => {
      const h = await client.workflow.start('benchBig', { taskQueue: 'no-worker', workflowId: `big-${i}` });
      for (let s = 0; s < BIG_SIGNALS; s++) await h.signal('s', payload);
    });
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const t = performance.now();
    await server.journal!.compact();
    const took = performance.now() - t;
    delay.disable();
    const size = statSync(dbFile).size;
    console.log(
      `snapshot of ${BIG_WORKFLOWS} runs x ${BIG_SIGNALS + 2} events (${(size / 1e6).toFixed(1)} MB) written in ${ms(took)}; ` +
        `largest event-loop stall meanwhile ${ms(delay.max / 1e6)} (p99 ${ms(delay.percentile(99) / 1e6)}; ` +
        `longest compaction slice ${ms(server.journal!.stats.longestSliceMs)}, ${ms(server.journal!.stats.longestSliceCpuMs)} of CPU; ` +
        `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs)`,
    );
  } finally {
    await connection.close();
    await server.stop();
  }
  // The state file's previous design: the whole state as one JSON text, written synchronously.
  const state = loadState(dbFile, createLogger('error')).state!;
  const t = performance.now();
  const text = encodeLine({ version: 1, executions: [...state.executions.values()] });
  console.log(
    `same state as one synchronous JSON save (the previous state file): ${ms(performance.now() - t)} stall (${(text.length / 1e6).toFixed(1)} MB)`,
  );
}

export async function benchDurability(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'devserver-bench-'));
  try {
    await latencyAddedByTheLog(dir);
    await stallWhileSaving(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
