/**
 * A Temporal cluster secured as its users secure it, with the embedded server as a real process:
 * one serving mTLS (client certificates required), one serving TLS and requiring an API key. The
 * worker and the `migrate` CLI connect the way a user configures them (a TOML profile file, or the
 * TEMPORAL_* variables), run a migration workflow and read its status; clients without a client
 * certificate, trusting the wrong CA, or with a wrong or missing API key are refused with a message
 * that says which setting to fix. The API key and the key material appear in no workflow history.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { quietRuntime } from '@migrator/devserver/testing';
import { runWorker, type RunningWorker } from '../../src/worker.js';
import { loadTemporalConnection } from '../../src/temporal/connection.js';
import type { MigrationStatus } from '../../src/workflows/api.js';
import { migrate, migrateInProcess, show } from '../cli/helpers.js';
import { workflowBundle } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEVSERVER = join(root, 'packages', 'devserver', 'src', 'main.ts');
const API_KEY = 'tls-test-key-8d1f0c7e';
const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));

interface Server {
  address: string;
  /** The PEM files the server made at start (`--tls-dir`). */
  tls: { ca: string; clientCert: string; clientKey: string; otherCa: string };
  child: ChildProcess;
}

/** `npm run devserver` as its own process; resolves on its READY line. */
async function startServer(name: string, args: string[], env: Record<string, string> = {}): Promise<Server> {
  const tlsDir = join(dir, name);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      DEVSERVER,
      '--port',
      '0',
      '--headless',
      '--log-level',
      'warn',
      '--tls-dir',
      tlsDir,
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /^READY (\S+)/m.exec(out);
    if (m) {
      const t = join(tlsDir, 'tls');
      return {
        address: m[1]!,
        child,
        tls: {
          ca: join(t, 'ca.pem'),
          clientCert: join(t, 'client.pem'),
          clientKey: join(t, 'client-key.pem'),
          otherCa: join(t, 'other-ca.pem'),
        },
      };
    }
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`devserver ${name} did not start: ${out}`);
    await sleep(50);
  }
}

let mtls: Server;
let keyed: Server;
let bundle: { code: string };
const workers: RunningWorker[] = [];

/** A user's environment: only what they set (the test process's TEMPORAL_* must not leak in). */
function userEnv(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('TEMPORAL_')) env[k] = v;
  // No profile file unless the case names one (the default location is an empty directory).
  return { ...env, XDG_CONFIG_HOME: join(dir, 'config'), ...vars };
}

before(async () => {
  quietRuntime();
  for (const k of Object.keys(process.env)) if (k.startsWith('TEMPORAL_')) delete process.env[k];
  // The API key goes through the environment, not the command line (ps would show it).
  [mtls, keyed, bundle] = await Promise.all([
    startServer('mtls', ['--mtls']),
    startServer('keyed', [], { DEVSERVER_API_KEY: API_KEY }),
    workflowBundle(),
  ]);
});

after(async () => {
  await Promise.all(workers.map((w) => w.shutdown().catch(() => undefined)));
  for (const s of [mtls, keyed]) s?.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A worker connected with `env`, then `migrate start` (by default its own process) and `migrate status`: the
 * worker runs the workflow's PRECHECK, which stops at its failed gate (connection "nowhere" is not
 * configured), and the status query answered by the worker says so.
 */
async function runMigrationThrough(
  env: Record<string, string>,
  id: string,
  cli: typeof migrate = migrate,
): Promise<MigrationStatus> {
  const worker = await runWorker({ env, workflowBundle: bundle, identity: `tls-test-${id}` });
  workers.push(worker);
  const plan = join(dir, `${id}.yaml`);
  writeFileSync(plan, `id: ${id}\nsource: nowhere\ntables: [{ name: orders }]\n`);
  const started = await cli(['start', '--plan', plan], env);
  assert.equal(started.code, 0, show(started));
  assert.match(started.stdout, new RegExp(`started migration ${id}`));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const run = await migrateInProcess(['status', id, '--json'], env);
    assert.equal(run.code, 0, show(run));
    const status = run.json<{ status: MigrationStatus }>().status;
    if (status.error) return status;
    assert.ok(Date.now() < deadline, `no precheck failure within 20 s: ${run.stdout}`);
    await sleep(200);
  }
}

test('mTLS through a TOML profile: worker and CLI run and observe a migration workflow', async () => {
  const profile = join(dir, 'temporal.toml');
  writeFileSync(
    profile,
    [
      '[profile.default]',
      'address = "127.0.0.1:1"', // not used: TEMPORAL_PROFILE picks the next one
      '[profile.secure]',
      `address = "${mtls.address}"`,
      'namespace = "default"',
      '[profile.secure.tls]',
      `server_ca_cert_path = "${mtls.tls.ca}"`,
      `client_cert_path = "${mtls.tls.clientCert}"`,
      `client_key_path = "${mtls.tls.clientKey}"`,
      'server_name = "localhost"',
      '',
    ].join('\n'),
  );
  const env = userEnv({ TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'secure' });
  const status = await runMigrationThrough(env, 'tls-mtls');
  assert.equal(status.phase, 'PRECHECK');
  assert.match(status.error ?? '', /connection "nowhere" is not configured/);
  assert.match(workers.at(-1)!.temporalSummary, /over mTLS, settings from profile "secure"/);

  // Flags win over the environment, which wins over the profile (as Temporal's CLI).
  const dead = { ...env, MIGRATE_CONNECT_TIMEOUT: '1' };
  const flagged = await migrateInProcess(['list', '--json', '--address', '127.0.0.1:1'], dead);
  assert.equal(flagged.code, 4, show(flagged));
  assert.match(flagged.stderr, /cannot reach Temporal at 127\.0\.0\.1:1 /);
  const viaEnv = await migrateInProcess(['list', '--json'], { ...dead, TEMPORAL_ADDRESS: '127.0.0.1:1' });
  assert.equal(viaEnv.code, 4, show(viaEnv));
  const back = await migrateInProcess(['list', '--json', '--address', mtls.address], {
    ...env,
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  });
  assert.equal(back.code, 0, show(back));
});

test('API key through TEMPORAL_* variables: worker and CLI run and observe a migration workflow', async () => {
  const env = userEnv({
    TEMPORAL_ADDRESS: keyed.address,
    TEMPORAL_API_KEY: API_KEY,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: keyed.tls.ca,
  });
  // `migrate` in this process this time (same code path as the binary, a few seconds less).
  const status = await runMigrationThrough(env, 'tls-key', migrateInProcess);
  assert.match(status.error ?? '', /connection "nowhere" is not configured/);
  assert.match(workers.at(-1)!.temporalSummary, /over TLS with an API key, settings from the environment/);
  assert.doesNotMatch(workers.at(-1)!.temporalSummary, new RegExp(API_KEY));

  // Neither the key nor key material reached a workflow: every history on both servers.
  for (const server of [keyed, mtls]) {
    const e =
      server === keyed
        ? env
        : userEnv({
            TEMPORAL_ADDRESS: mtls.address,
            TEMPORAL_TLS_SERVER_CA_CERT_PATH: mtls.tls.ca,
            TEMPORAL_TLS_CLIENT_CERT_PATH: mtls.tls.clientCert,
            TEMPORAL_TLS_CLIENT_KEY_PATH: mtls.tls.clientKey,
          });
    const connection = await Connection.connect(loadTemporalConnection({ env: e }).connectionOptions);
    const client = new Client({ connection });
    const secrets = [API_KEY, readFileSync(mtls.tls.clientKey, 'utf8').split('\n')[1]!];
    for await (const wf of client.workflow.list()) {
      const history = JSON.stringify(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
      for (const s of secrets) assert.ok(!history.includes(s), `a secret in the history of ${wf.workflowId}`);
    }
    await connection.close();
  }
});

test('refused with the setting to fix: no client certificate, wrong CA, wrong or missing API key', async () => {
  const cases: { name: string; env: Record<string, string>; says: RegExp; cliOnly?: boolean }[] = [
    {
      name: 'mTLS server, no client certificate',
      env: { TEMPORAL_ADDRESS: mtls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: mtls.tls.ca },
      says: /requires a client certificate \(mTLS\) and none was sent: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
    },
    {
      name: 'wrong CA',
      env: {
        TEMPORAL_ADDRESS: mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: mtls.tls.otherCa,
        TEMPORAL_TLS_CLIENT_CERT_PATH: mtls.tls.clientCert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: mtls.tls.clientKey,
      },
      says: /not signed by a CA this client trusts .*: set TEMPORAL_TLS_SERVER_CA_CERT_PATH/,
    },
    {
      name: 'client certificate of another CA',
      env: {
        TEMPORAL_ADDRESS: mtls.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: mtls.tls.ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH: mtls.tls.otherCa,
        TEMPORAL_TLS_CLIENT_KEY_PATH: mtls.tls.otherCa.replace(/\.pem$/, '-key.pem'),
      },
      says: /refused the client certificate .*: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
      cliOnly: true,
    },
    {
      name: 'plaintext to a TLS port',
      env: { TEMPORAL_ADDRESS: mtls.address },
      says: /speaks TLS and this connection is plaintext: set TEMPORAL_TLS=true/,
      cliOnly: true,
    },
    {
      name: 'wrong API key',
      env: {
        TEMPORAL_ADDRESS: keyed.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: keyed.tls.ca,
        TEMPORAL_API_KEY: 'not-the-key',
      },
      says: /API key not accepted.*check TEMPORAL_API_KEY/,
    },
    {
      name: 'missing API key',
      env: { TEMPORAL_ADDRESS: keyed.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: keyed.tls.ca },
      says: /API key required.*TEMPORAL_API_KEY/,
    },
  ];
  for (const c of cases) {
    // A TLS mismatch ends only at the connect deadline (the SDK retries until then): keep it short.
    const env = userEnv({ ...c.env, MIGRATE_CONNECT_TIMEOUT: '1' });
    const cli = await migrateInProcess(['list'], env);
    assert.equal(cli.code, 2, `${c.name}: ${show(cli)}`);
    assert.match(cli.stderr, c.says, `${c.name} (CLI)`);
    if (c.cliOnly) continue; // the worker shares the diagnosis (src/temporal/diagnose.ts)
    await assert.rejects(
      runWorker({ env, workflowBundle: bundle, connectTimeoutMs: 1000 }),
      (err: Error) => (assert.match(err.message, c.says, `${c.name} (worker)`), true),
    );
  }
});

test('bad connection settings: one line naming the setting, its source and the fix', async () => {
  const profile = join(dir, 'bad.toml');
  writeFileSync(
    profile,
    `[profile.bad]\naddress = "${mtls.address}"\n[profile.bad.tls]\nclient_cert_path = "${join(dir, 'missing.pem')}"\nclient_key_path = "${mtls.tls.clientKey}"\n`,
  );
  const cases: { env: Record<string, string>; args?: string[]; says: RegExp }[] = [
    {
      env: { TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'bad' },
      says: /cannot read the TLS client certificate .*missing\.pem \(client_cert_path\/_data in profile "bad" of .*bad\.toml\): no such file\. Fix the path/,
    },
    {
      env: { TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'prod' },
      says: /profile "prod" \(TEMPORAL_PROFILE\) is not in .*bad\.toml: it has "bad"\. Fix TEMPORAL_PROFILE or add \[profile\.prod\]/,
    },
    {
      env: { TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml') },
      says: /cannot read the Temporal profile file .*nope\.toml \(TEMPORAL_CONFIG_FILE=.*\): no such file/,
    },
    {
      env: { TEMPORAL_ADDRESS: mtls.address, TEMPORAL_TLS_CLIENT_CERT_PATH: mtls.tls.clientCert },
      says: /TLS client certificate \(TEMPORAL_TLS_CLIENT_CERT_PATH\) is given without the TLS client key: set TEMPORAL_TLS_CLIENT_KEY_PATH/,
    },
    {
      env: {},
      args: ['--tls-ca-path', mtls.tls.clientKey],
      says: /TLS server CA certificate .*client-key\.pem \(--tls-ca-path\) is not a PEM certificate/,
    },
  ];
  for (const c of cases) {
    const run = await migrateInProcess(['list', ...(c.args ?? [])], userEnv(c.env));
    assert.equal(run.code, 2, show(run));
    assert.match(run.stderr, c.says);
  }
});
