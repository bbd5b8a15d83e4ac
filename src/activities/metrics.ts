/**
 * The worker's Prometheus metrics (prom-client), served on MIGRATOR_METRICS_PORT when set. The
 * activity wrappers feed them from what the data plane reports (progress deltas, results); the phase
 * of every running migration is read from Temporal (its MigrationPhase search attribute) at scrape time.
 */
import { createServer, type Server } from 'node:http';
import type { Client } from '@temporalio/client';
import { Counter, Gauge, Registry } from 'prom-client';
import type { MismatchCounts, SyncStatus, VerifyResult } from './contracts.js';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { MIGRATION_WORKFLOW_TYPE } from '../shared/workflow-names.js';

const PHASE = defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD);

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly rowsCopied = new Counter({
    name: 'migrator_rows_copied_total',
    help: 'Rows the bulk copy wrote to the target, per table',
    labelNames: ['table'],
    registers: [this.registry],
  });
  readonly cdcLagSeconds = new Gauge({
    name: 'migrator_cdc_lag_seconds',
    help: 'CDC lag in seconds (source commit time of the last applied transaction), per stream',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly cdcLagBytes = new Gauge({
    name: 'migrator_cdc_lag_bytes',
    help: 'Binlog bytes between the applied position and the head, per stream',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly eventsApplied = new Counter({
    name: 'migrator_cdc_transactions_applied_total',
    help: 'Source transactions the CDC applier committed, per stream',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly rowsApplied = new Counter({
    name: 'migrator_cdc_rows_applied_total',
    help: 'Row changes the CDC applier applied, per stream',
    labelNames: ['stream'],
    registers: [this.registry],
  });
  readonly repairs = new Counter({
    name: 'migrator_repairs_total',
    help: 'Rows repaired, by kind (missing, extra, different)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly mismatches = new Gauge({
    name: 'migrator_verification_mismatches',
    help: 'Mismatches found by the last verification of a table, by kind',
    labelNames: ['table', 'kind'],
    registers: [this.registry],
  });

  /** Current phase of each running migration (1 for its phase), read from Temporal at scrape time. */
  watchPhases(client: Client): void {
    new Gauge({
      name: 'migrator_phase',
      help: 'Current phase of each running migration workflow (1 = in this phase)',
      labelNames: ['workflow_id', 'phase'],
      registers: [this.registry],
      async collect() {
        this.reset();
        const query = `WorkflowType = '${MIGRATION_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
        let n = 0;
        for await (const wf of client.workflow.list({ query })) {
          const phase = wf.typedSearchAttributes.get(PHASE);
          if (typeof phase === 'string') this.set({ workflow_id: wf.workflowId, phase }, 1);
          if (++n >= 100) break;
        }
      },
    });
  }

  copied(table: string, rows: number): void {
    if (rows > 0) this.rowsCopied.inc({ table }, rows);
  }

  applied(stream: string, transactions: number, rows: number): void {
    if (transactions > 0) this.eventsApplied.inc({ stream }, transactions);
    if (rows > 0) this.rowsApplied.inc({ stream }, rows);
  }

  lag(status: SyncStatus): void {
    this.cdcLagSeconds.set({ stream: status.stream }, status.lagSeconds);
    this.cdcLagBytes.set({ stream: status.stream }, status.lagBytes);
  }

  repaired(delta: MismatchCounts): void {
    for (const kind of ['missing', 'extra', 'different'] as const) {
      if (delta[kind] > 0) this.repairs.inc({ kind }, delta[kind]);
    }
  }

  verified(result: VerifyResult): void {
    for (const kind of ['missing', 'extra', 'different'] as const) {
      this.mismatches.set({ table: result.table, kind }, result.mismatches[kind]);
    }
    this.repaired(result.repaired);
  }
}

/** Tracks the growth of cumulative counters in successive progress reports (a resumed attempt starts from its resume point). */
export function deltas<P>(start: P | undefined, read: (p: P) => number[]): (next: P) => number[] {
  let last = start === undefined ? undefined : read(start);
  return (next) => {
    const now = read(next);
    const d = now.map((v, i) => Math.max(0, v - (last?.[i] ?? 0)));
    last = now;
    return d;
  };
}

/** Serves the registry at /metrics on 0.0.0.0:port (port 0: any free port). */
export async function serveMetrics(registry: Registry, port: number, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: /metrics\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
