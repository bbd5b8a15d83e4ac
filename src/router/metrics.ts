/**
 * Prometheus metrics of a router (prom-client), for the application to serve with its own: reads and
 * writes per side, mirrored writes, dual-write failures sent to repair, table-level repairs, read
 * fallbacks, shadow mismatches, and the switch version it applies. Values are read from
 * router.stats() at scrape time.
 *
 *   const registry = new Registry(); routerMetrics(router, registry);  // then serve registry.metrics()
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { RouterStats } from './stats.js';

export function routerMetrics(
  router: { stats(): RouterStats },
  registry: Registry = new Registry(),
  labels: { migration?: string } = {},
): Registry {
  const common = labels.migration ? { migration: labels.migration } : {};
  const names = labels.migration ? ['migration'] : [];
  const counter = (name: string, help: string, value: (s: RouterStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: names,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(common, value(router.stats()));
      },
    });
  const perSide = (
    name: string,
    help: string,
    value: (s: RouterStats) => Record<'source' | 'target', number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: [...names, 'side'],
      registers: [registry],
      collect() {
        this.reset();
        const v = value(router.stats());
        for (const side of ['source', 'target'] as const) this.inc({ ...common, side }, v[side]);
      },
    });
  perSide('migrator_router_reads_total', 'Reads answered, by side', (s) => s.reads);
  perSide('migrator_router_writes_total', 'Writes executed, by side', (s) => s.writes);
  counter('migrator_router_mirrored_writes_total', 'Writes mirrored to the other side', (s) => s.mirrored);
  counter(
    'migrator_router_dual_write_failures_total',
    'Writes whose mirror failed (keys sent to the repair stream)',
    (s) => s.dualWriteFailures,
  );
  counter(
    'migrator_router_table_level_repairs_total',
    'Writes whose touched rows were unknown (table-level repair entries)',
    (s) => s.tableLevelRepairs,
  );
  counter('migrator_router_read_fallbacks_total', 'Reads answered by the other side', (s) => s.readFallbacks);
  counter('migrator_router_shadow_mismatches_total', 'Shadow reads that differed', (s) => s.shadowMismatches);
  new Gauge({
    name: 'migrator_router_switch_version',
    help: 'Version of the switches the router applies (0: none loaded)',
    labelNames: names,
    registers: [registry],
    collect() {
      this.set(common, router.stats().switchVersion);
    },
  });
  return registry;
}
