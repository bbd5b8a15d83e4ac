/**
 * Argument parsing and validation through the real `migrate` process: usage errors exit 2 before
 * anything is sent, an unreachable Temporal exits 4 with one clear line, --json keeps stdout JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, migrateInProcess, show } from './helpers.js';

/** An address where nothing listens (a port we bound and released). */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return `127.0.0.1:${port}`;
}

const dir = mkdtempSync(join(tmpdir(), 'migrate-cli-args-'));
function planFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

let nowhere: Record<string, string>;
test.before(async () => {
  nowhere = { TEMPORAL_ADDRESS: await deadAddress(), MIGRATE_CONNECT_TIMEOUT: '1' };
});

test('bad percent, unknown phase, missing --confirm, unknown command: exit 2 with the reason, nothing sent', async () => {
  // The real process for the ones the brief names; the same code path in-process for the rest.
  const [percent, phase, finalize, unknown] = await Promise.all([
    migrate(['read-percent', '101', 'shop'], nowhere),
    migrate(['rollback', 'shop', '--to', 'SIDEWAYS'], nowhere),
    migrate(['finalize', 'shop'], nowhere),
    migrate(['frobnicate'], nowhere),
  ]);
  const notNumber = await migrateInProcess(['read-percent', 'half', 'shop'], nowhere);
  const noCommand = await migrateInProcess([], nowhere);
  const readPercentFlag = await migrateInProcess(['rollback', 'shop', '--read-percent', '5'], nowhere);
  assert.equal(percent.code, 2, show(percent));
  assert.match(percent.stderr, /"101" is not a whole percentage from 0 to 100/);
  assert.equal(notNumber.code, 2, show(notNumber));
  assert.equal(phase.code, 2, show(phase));
  assert.match(phase.stderr, /unknown phase "SIDEWAYS"; phases are PRECHECK, PREPARE_TARGET/);
  assert.equal(finalize.code, 2, show(finalize));
  assert.match(finalize.stderr, /finalize is irreversible: repeat with --confirm/);
  assert.equal(unknown.code, 2, show(unknown));
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  assert.equal(noCommand.code, 2, show(noCommand));
  assert.equal(readPercentFlag.code, 2, show(readPercentFlag));
  assert.match(readPercentFlag.stderr, /--read-percent needs --to READ_SWITCH/);
  // None of them tried to connect (the address is dead: that would be exit 4).
  for (const run of [percent, phase, finalize]) assert.doesNotMatch(run.stderr, /cannot reach Temporal/);
});

test('--json: usage errors are one JSON document on stdout, the message on stderr', async () => {
  const [percent, finalize] = await Promise.all([
    migrate(['read-percent', '-3', 'shop', '--json'], nowhere),
    migrateInProcess(['finalize', 'shop', '--json'], nowhere),
  ]);
  for (const run of [percent, finalize]) {
    assert.equal(run.code, 2, show(run));
    const doc = run.json<{ ok: boolean; error: { kind: string; exitCode: number; message: string } }>();
    assert.equal(doc.ok, false);
    assert.equal(doc.error.kind, 'usage');
    assert.equal(doc.error.exitCode, 2);
    assert.ok(run.stderr.length > 0);
  }
  assert.match(finalize.json<{ error: { message: string } }>().error.message, /--confirm/);
});

test('plan validation: clear field errors (exit 2), credentials refused, a valid plan accepted offline', async () => {
  const bad = planFile('bad.yaml', 'id: Shop\ntables:\n  - name: "orders; DROP"\nreadSteps: [50, 10]\n');
  const secret = planFile(
    'secret.yaml',
    'id: shop\ntables: [{name: orders}]\ndsn: mysql://root:hunter2@db/shop\n',
  );
  const good = planFile('good.yaml', 'id: shop\ntables: [{name: orders}, {name: customers}]\n');
  const invalid = await migrate(['start', '--plan', bad], nowhere);
  const invalidJson = await migrateInProcess(['plan', 'validate', bad, '--json'], nowhere);
  const withSecret = await migrateInProcess(['start', '--plan', secret], nowhere);
  const valid = await migrateInProcess(['plan', 'validate', good], nowhere);
  const validStart = await migrateInProcess(['start', '--plan', good, '--dry-run', '--json'], nowhere);
  const missing = await migrateInProcess(['start', '--plan', join(dir, 'nope.yaml')], nowhere);
  const override = await migrateInProcess(['plan', 'validate', good, '--id', 'Not Valid'], nowhere);
  assert.equal(invalid.code, 2, show(invalid));
  assert.match(invalid.stderr, /invalid plan:/);
  assert.match(invalid.stderr, /^ +id: id must be lower-case/m);
  assert.match(invalid.stderr, /^ +tables\[0\]\.name: table name must be a plain identifier/m);
  assert.match(invalid.stderr, /^ +readSteps\[1\]: read steps must be strictly increasing/m);
  const issues = invalidJson.json<{ error: { details: { issues: { path: string }[] } } }>().error.details
    .issues;
  assert.deepEqual(issues.map((i) => i.path).sort(), ['id', 'readSteps', 'readSteps[1]', 'tables[0].name']);
  assert.equal(withSecret.code, 2, show(withSecret));
  assert.match(withSecret.stderr, /refusing a plan that contains credentials/);
  assert.doesNotMatch(withSecret.stderr + withSecret.stdout, /hunter2/);
  assert.equal(valid.code, 0, show(valid));
  assert.match(valid.stdout, /valid plan "shop" \(workflow migration-shop\)/);
  assert.equal(validStart.code, 0, show(validStart));
  const dry = validStart.json<{ workflowId: string; taskQueue: string; plan: { tables: unknown[] } }>();
  assert.equal(dry.workflowId, 'migration-shop');
  assert.equal(dry.taskQueue, 'migrations');
  assert.equal(dry.plan.tables.length, 2);
  assert.equal(missing.code, 2, show(missing));
  assert.match(missing.stderr, /cannot read plan file .*nope\.yaml: ENOENT/);
  assert.equal(override.code, 2, show(override));
});

test('Temporal unreachable: exit 4 and one line saying what to do (human and --json)', async () => {
  const human = await migrate(['pause', 'shop', '--reason', 'maintenance'], nowhere);
  const json = await migrateInProcess(['status', 'shop', '--json'], nowhere);
  assert.equal(human.code, 4, show(human));
  assert.equal(human.stdout, '');
  const lines = human.stderr.trim().split('\n');
  assert.equal(lines.length, 1, show(human));
  assert.match(
    lines[0],
    new RegExp(
      `cannot reach Temporal at ${nowhere.TEMPORAL_ADDRESS} \\(namespace default\\).*TEMPORAL_ADDRESS`,
    ),
  );
  assert.equal(json.code, 4, show(json));
  assert.equal(json.json<{ error: { kind: string } }>().error.kind, 'unavailable');
});

test('--help and --version exit 0 and document the exit codes', async () => {
  const help = await migrate(['--help']);
  const version = await migrateInProcess(['--version']);
  assert.equal(help.code, 0, show(help));
  assert.match(help.stdout, /Exit codes:\n +0 +ok\n +1 +rejected/);
  assert.match(help.stdout, /read-percent \[options\] <percent> \[ID\]/);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});
