// `npm run bench:devserver`: throughput and latency of the embedded Temporal dev server driven by
// the real SDK (client + worker) in one process, then what durability costs (durability.ts).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, Runtime, DefaultLogger } from '@temporalio/worker';
import { startDevServer } from '../src/index.js';
import { workflowBundle } from '../test/helpers.js';
import { bump, counterWorkflow, echoWorkflow, finish, total } from '../test/fixtures/workflows.js';
import { benchDurability } from './durability.js';
import { percentile, pool } from './util.js';

const WORKFLOWS = Number(process.env.BENCH_WORKFLOWS ?? 300);
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 200);

Runtime.install({ logger: new DefaultLogger('WARN') });
const server = await startDevServer({ port: 0, logLevel: 'warn' });
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection, namespace: 'default' });
const taskQueue = `bench-${Date.now()}`;
const workerConnection = await NativeConnection.connect({ address: server.address });
const worker = await Worker.create({
  connection: workerConnection,
  namespace: 'default',
  taskQueue,
  workflowBundle: await workflowBundle(),
  activities: { echo: async (s: string) => s },
  maxConcurrentWorkflowTaskExecutions: 100,
  maxConcurrentActivityTaskExecutions: 100,
});

await worker.runUntil(async () => {
  // Warm-up.
  await pool(20, 10, (i) =>
    client.workflow.execute(echoWorkflow, { taskQueue, workflowId: `warm-${i}-${Date.now()}`, args: ['x'] }),
  );

  const t0 = Date.now();
  await pool(WORKFLOWS, 50, (i) =>
    client.workflow.execute(echoWorkflow, { taskQueue, workflowId: `wf-${i}-${Date.now()}`, args: ['x'] }),
  );
  const secs = (Date.now() - t0) / 1000;
  console.log(
    `one-activity workflows: ${WORKFLOWS} in ${secs.toFixed(2)}s = ${(WORKFLOWS / secs).toFixed(1)} workflows/s`,
  );

  for (const clients of [1, 8]) {
    const handles = await Promise.all(
      Array.from({ length: clients }, (_, i) =>
        client.workflow.start(counterWorkflow, {
          taskQueue,
          workflowId: `rt-${clients}-${i}-${Date.now()}`,
          args: [0],
        }),
      ),
    );
    const per = Math.ceil(ROUND_TRIPS / clients);
    const latencies: number[] = [];
    await Promise.all(
      handles.map(async (h) => {
        for (let i = 0; i < per; i++) {
          const t = performance.now();
          await h.signal(bump, 1);
          const v = await h.query(total);
          latencies.push(performance.now() - t);
          if (v < i + 1) throw new Error(`query saw ${v} after ${i + 1} signals`);
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    console.log(
      `signal->query round trip, ${clients} concurrent client(s), ${latencies.length} samples: p50 ${percentile(latencies, 50).toFixed(1)}ms, p99 ${percentile(latencies, 99).toFixed(1)}ms`,
    );
    await Promise.all(handles.map((h) => h.signal(finish)));
    await Promise.all(handles.map((h) => h.result()));
  }
});
await workerConnection.close();
await connection.close();
await server.stop();

await benchDurability();
