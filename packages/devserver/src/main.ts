/**
 * CLI: npm run devserver -- --port 7233 [--ui-port 8233 | --headless] [--db-file PATH] [--namespace NAME]...
 * [--log-level info] [--tls-dir DIR [--mtls] | --tls-cert F --tls-key F [--tls-client-ca F]] [--api-key K]...
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { makeCertificates } from './certs.js';
import type { TlsOptions } from './auth.js';
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
  .option(
    '--tls-dir <dir>',
    'serve gRPC over TLS with a CA, server and client certificates made in <dir>/tls at start',
  )
  .option('--mtls', 'with --tls-dir: require a client certificate signed by the generated CA')
  .option('--tls-cert <file>', 'serve gRPC over TLS with this certificate (PEM; with --tls-key)')
  .option('--tls-key <file>', 'private key of --tls-cert (PEM)')
  .option('--tls-client-ca <file>', 'with --tls-cert: require client certificates signed by this CA (mTLS)')
  .option(
    '--api-key <key>',
    'require "authorization: Bearer <key>" on every gRPC call (repeatable; DEVSERVER_API_KEY keeps it out of ps)',
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  )
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
  tlsDir?: string;
  mtls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  apiKey: string[];
}>();

function fail(message: string): never {
  process.stderr.write(`devserver: ${message}\n`);
  process.exit(2);
}

async function tlsOptions(): Promise<TlsOptions | undefined> {
  if (opts.tlsDir && (opts.tlsCert || opts.tlsKey || opts.tlsClientCa)) {
    fail('--tls-dir makes its own certificates: give either it or --tls-cert/--tls-key, not both');
  }
  if (opts.tlsDir) {
    const certs = await makeCertificates(opts.tlsDir);
    process.stdout.write(
      `TLS certificates in ${certs.dir}: CA ca.pem, client certificate client.pem + client-key.pem${opts.mtls ? ' (required)' : ''}\n`,
    );
    return {
      certFile: certs.serverCert,
      keyFile: certs.serverKey,
      clientCaFile: opts.mtls ? certs.ca : undefined,
    };
  }
  if (opts.mtls) fail('--mtls needs --tls-dir (with --tls-cert, give the client CA with --tls-client-ca)');
  if (!opts.tlsCert !== !opts.tlsKey) fail('--tls-cert and --tls-key go together');
  if (opts.tlsClientCa && !opts.tlsCert) fail('--tls-client-ca needs --tls-cert and --tls-key');
  return opts.tlsCert && opts.tlsKey
    ? { certFile: opts.tlsCert, keyFile: opts.tlsKey, clientCaFile: opts.tlsClientCa }
    : undefined;
}

const apiKeys = [...opts.apiKey, ...(process.env.DEVSERVER_API_KEY ? [process.env.DEVSERVER_API_KEY] : [])];

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
  tls: await tlsOptions(),
  apiKeys,
});
if (server.uiUrl && (server.security !== 'plaintext' || apiKeys.length)) {
  // The UI port has neither TLS nor API keys (packages/devserver/README.md): say so where it is seen.
  process.stderr.write(
    `note: the Web UI / HTTP API at ${server.uiUrl} is plaintext and asks for no API key (loopback only; --headless turns it off)\n`,
  );
}
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
