/**
 * CLI: npm run devserver -- --port 7233 [--ui-port 8233 | --headless] [--db-file PATH] [--namespace NAME]...
 * [--log-level info]
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startDevServer } from './index.js';
import type { LogLevel } from './log.js';

const program = new Command()
  .name('devserver')
  .description('Embedded Temporal dev server (WorkflowService + OperatorService over gRPC)')
  .option('--port <port>', 'port to listen on', '7233')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--db-file <path>', 'persist state to this file (in memory when absent)')
  .option(
    '--namespace <name>',
    'extra namespace to register (repeatable)',
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  )
  .option('--log-level <level>', 'debug | info | warn | error', 'info')
  .option('--compact-bytes <n>', 'with --db-file: compact the log into the snapshot past this size')
  .option('--retention <duration>', 'retention of closed workflows, e.g. 24h, 30m, 90s (default 24h)')
  .option('--ui-port <port>', 'port of the Web UI and HTTP API (/api/v1)', '8233')
  .option(
    '--ui-dir <path>',
    'built Web UI to serve',
    fileURLToPath(new URL('../../devserver-ui/build', import.meta.url)),
  )
  .option('--headless', 'no Web UI / HTTP API listener')
  .parse();

const opts = program.opts<{
  port: string;
  host: string;
  dbFile?: string;
  namespace: string[];
  logLevel: LogLevel;
  compactBytes?: string;
  retention?: string;
  uiPort: string;
  uiDir: string;
  headless?: boolean;
}>();
/** "90s", "30m", "24h", "7d" (or plain milliseconds) to milliseconds. */
function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text} (use e.g. 90s, 30m, 24h, 7d)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

/**
 * The default UI port may be taken (another dev server, servers started by parallel tests): then the UI
 * goes to a free port, named on the READY line. A port given with --ui-port must be free.
 */
async function uiPortToUse(): Promise<number | undefined> {
  if (opts.headless) return undefined;
  const wanted = Number(opts.uiPort);
  if (program.getOptionValueSource('uiPort') !== 'default') return wanted;
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(wanted, opts.host, () => probe.close(() => resolve(true)));
  });
  if (!free) process.stderr.write(`UI port ${wanted} is in use: the Web UI takes a free port instead\n`);
  return free ? wanted : 0;
}

const server = await startDevServer({
  port: Number(opts.port),
  host: opts.host,
  dbFile: opts.dbFile,
  namespaces: opts.namespace,
  logLevel: opts.logLevel,
  compactBytes: opts.compactBytes ? Number(opts.compactBytes) : undefined,
  retentionMs: opts.retention ? durationMs(opts.retention) : undefined,
  uiPort: await uiPortToUse(),
  uiDir: opts.uiDir,
});
process.stdout.write(`READY ${server.address}${server.uiUrl ? ` UI ${server.uiUrl}` : ''}\n`);
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`received ${sig}, stopping\n`);
    void server.stop().then(() => process.exit(0));
  });
}
