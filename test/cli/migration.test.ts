/**
 * The CLI against a real migration workflow: embedded Temporal, MariaDB pair and Redis (the worker's
 * activities need them), the project's worker in this process. `migrate` runs as a real process for
 * start / status / a rejected update / list, and in-process (same code path) for the rest.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { atGate, createSchema, startEnv, waitStatus, type Env } from '../workflow/helpers.js';
import type { StatusDocument } from '../../src/cli/commands/status.js';
import type { ListedMigration } from '../../src/cli/commands/list.js';
import type { ScheduleRow } from '../../src/cli/commands/schedule.js';
import type { VerificationSummary } from '../../src/workflows/api.js';
import { migrate, migrateInProcess, show, spawnMigrate, type CliRun } from './helpers.js';

const ID = 'clitest';
let env: Env;
let handle: WorkflowHandle;
let planPath: string;

before(async () => {
  env = await startEnv();
  await createSchema(env.stack, 20);
  const dir = mkdtempSync(join(tmpdir(), 'migrate-cli-'));
  planPath = join(dir, 'plan.yaml');
  writeFileSync(
    planPath,
    [
      `id: ${ID}`,
      'tables:',
      '  - { name: customers, chunkSize: 50, updatedAtColumn: updated_at }',
      '  - { name: orders, chunkSize: 64 }',
      '  - { name: order_lines, chunkSize: 100 }',
      'gates: { default: { soakSeconds: 1, maxLagSeconds: 5 } }',
      'cdc: { catchUpLagSeconds: 2, routerAckTimeoutSeconds: 5 }',
      'verification: { intervalSeconds: 30 }',
      'repairLoop: { mode: full, intervalSeconds: 2 }',
      'temporal: { heartbeatTimeoutSeconds: 5, gatePollSeconds: 1 }',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await env?.stop();
});

/** Every CLI run of this file talks to the stack's Temporal (startEnv put it in process.env). */
const temporalEnv = () => ({ TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '' });
const cli = (args: string[]) => migrate(args, temporalEnv());
const inProc = (args: string[]) => migrateInProcess(args, temporalEnv());

async function until(pred: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function expectCode(run: CliRun, code: number): void {
  assert.equal(run.code, code, show(run));
}

test(
  'start, status --json, updates accepted and rejected, list --phase, not found',
  { timeout: 170_000 },
  async () => {
    // start: workflow id and the `temporal workflow describe` line.
    const started = await cli(['start', '--plan', planPath, '--by', 'ops', '--reason', 'cli test', '--json']);
    expectCode(started, 0);
    const doc = started.json<{ workflowId: string; taskQueue: string; describe: string; runId: string }>();
    assert.equal(doc.workflowId, `migration-${ID}`);
    assert.equal(doc.taskQueue, 'migrations');
    assert.match(
      doc.describe,
      new RegExp(`^temporal workflow describe --workflow-id migration-${ID} --namespace default --address `),
    );
    handle = env.client.workflow.getHandle(doc.workflowId);

    // A second start of the same id is refused (exit 1); an unknown migration is exit 3.
    const again = await inProc(['start', '--plan', planPath]);
    expectCode(again, 1);
    assert.match(again.stderr, /already running/);
    const missing = await inProc(['status', 'nosuch']);
    expectCode(missing, 3);
    assert.match(missing.stderr, /no migration "nosuch" \(workflow migration-nosuch\)/);

    await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);

    // status --json: one document, the workflow's MigrationStatus under `status`.
    const status = await cli(['status', ID, '--json']);
    expectCode(status, 0);
    const sdoc = status.json<StatusDocument>();
    assert.equal(sdoc.migrationId, ID);
    assert.equal(sdoc.workflowId, `migration-${ID}`);
    assert.equal(sdoc.execution.status, 'RUNNING');
    assert.equal(sdoc.execution.taskQueue, 'migrations');
    assert.equal(sdoc.status.state, 'WAITING');
    assert.equal(sdoc.status.gate?.next, 'DUAL_WRITE_SOURCE_FIRST');
    assert.deepEqual(
      sdoc.status.tables.map((t) => [t.table, t.state]),
      [
        ['customers', 'done'],
        ['orders', 'done'],
        ['order_lines', 'done'],
      ],
    );
    for (const key of ['switches', 'sync', 'repair', 'compensation', 'audit', 'lastVerification'] as const) {
      assert.ok(key in sdoc.status, `status.${key}`);
    }
    // The human view of the same.
    const human = await inProc(['status', ID]);
    expectCode(human, 0);
    assert.match(human.stdout, /^Phase: +CATCH_UP_VERIFY \(5\/11\)$/m);
    assert.match(human.stdout, /waiting to enter DUAL_WRITE_SOURCE_FIRST/);

    // Rejected by the validators: exit 1 and the validator's reason (real process for one of them).
    const early = await cli(['read-percent', '50', ID]);
    expectCode(early, 1);
    assert.match(early.stderr, /the read percentage can only be set at a READ_SWITCH gate/);
    const resumeNotPaused = await inProc(['resume', ID, '--json']);
    expectCode(resumeNotPaused, 1);
    const rj = resumeNotPaused.json<{ ok: boolean; error: { kind: string; details: { reason: string } } }>();
    assert.equal(rj.error.kind, 'rejected');
    assert.match(rj.error.details.reason, /not paused/);

    // pause / resume accepted, with who and why in the audit log; pausing twice is rejected.
    const paused = await inProc(['pause', ID, '--by', 'alice', '--reason', 'look first', '--json']);
    expectCode(paused, 0);
    assert.equal(paused.json<{ result: { accepted: boolean; command: string } }>().result.command, 'pause');
    expectCode(await inProc(['pause', ID]), 1);
    const advancePaused = await inProc(['advance', ID]);
    expectCode(advancePaused, 1);
    assert.match(advancePaused.stderr, /paused: resume first/);
    expectCode(await inProc(['resume', ID, '--by', 'alice']), 0);

    // advance through the gate; the run goes on to the first read-switch step.
    const advanced = await inProc(['advance', ID, '--by', 'bob', '--reason', 'catch-up verified']);
    expectCode(advanced, 0);
    assert.match(advanced.stdout, /^advance accepted: advancing to DUAL_WRITE_SOURCE_FIRST/);
    await atGate(handle, 'READ_SWITCH', 1, 60_000);

    // list --phase: the visibility query on MigrationPhase (at this gate the phase is still REPAIR_LOOP).
    const phase = (await inProc(['status', ID, '--json'])).json<StatusDocument>().status.phase;
    assert.equal(phase, 'REPAIR_LOOP');
    const listed = await cli(['list', '--phase', phase, '--json']);
    expectCode(listed, 0);
    const rows = listed.json<{ query: string; migrations: ListedMigration[] }>();
    assert.equal(rows.query, "WorkflowType = 'migrationWorkflow' AND MigrationPhase = 'REPAIR_LOOP'");
    assert.deepEqual(
      rows.migrations.map((m) => [m.migrationId, m.status, m.phase, m.writeMode]),
      [[ID, 'RUNNING', 'REPAIR_LOOP', 'DUAL_SOURCE_FIRST']],
    );
    const none = await inProc(['list', '--phase', 'BULK_COPY', '--json']);
    expectCode(none, 0);
    assert.deepEqual(none.json<{ migrations: unknown[] }>().migrations, []);

    // read-percent at a READ_SWITCH gate: accepted; the same value again is rejected.
    const percent = await inProc(['read-percent', '5', ID, '--by', 'carol']);
    expectCode(percent, 0);
    assert.match(percent.stdout, /setReadPercent accepted: setting reads on target to 5%/);
    // The step applies the percentage and then returns to the gate; only there is a repeat judged.
    await waitStatus(
      handle,
      (s) => s.switches.readPercent === 5 && s.state === 'WAITING',
      'reads at 5% and back at the gate',
      30_000,
    );
    const same = await inProc(['read-percent', '5', ID]);
    expectCode(same, 1);
    assert.match(same.stderr, /already at 5%/);

    // The audit log (status) records who did what.
    const audit = (await inProc(['status', ID, '--json'])).json<StatusDocument>().status.audit;
    const entry = (command: string, by: string) =>
      audit.find((a) => a.command === command && a.by === by && a.accepted);
    assert.equal(entry('pause', 'alice')?.reason, 'look first');
    assert.equal(entry('advance', 'bob')?.reason, 'catch-up verified');
    assert.ok(entry('setReadPercent', 'carol'));

    // The verification schedule (created at DUAL_WRITE_SOURCE_FIRST): list, pause with a note, unpause.
    const schedules = await inProc(['schedule', 'list', ID, '--json']);
    expectCode(schedules, 0);
    const [row] = schedules.json<{ schedules: ScheduleRow[] }>().schedules;
    assert.equal(row.scheduleId, `migration-${ID}-verify`);
    assert.equal(row.paused, false);
    expectCode(await inProc(['schedule', 'pause', ID, '--by', 'erin', '--reason', 'db maintenance']), 0);
    const pausedRow = (await inProc(['schedule', 'list', '--json'])).json<{ schedules: ScheduleRow[] }>()
      .schedules;
    assert.deepEqual(
      pausedRow.map((r) => [r.migrationId, r.paused, r.note]),
      [[ID, true, 'paused by erin: db maintenance (migrate CLI)']],
    );
    expectCode(await inProc(['schedule', 'unpause', ID]), 0);
    // verify: no table named -> trigger the schedule now; --table -> a one-off verification workflow.
    const triggered = await inProc(['verify', ID, '--json']);
    expectCode(triggered, 0);
    assert.equal(triggered.json<{ triggered: string }>().triggered, `migration-${ID}-verify`);
    const oneOff = await inProc(['verify', ID, '--table', 'orders', '--wait', '--json']);
    expectCode(oneOff, 0);
    const verified = oneOff.json<{ workflowId: string; tables: string[]; result: VerificationSummary }>();
    assert.match(verified.workflowId, new RegExp(`^migration-${ID}-verify-cli-`));
    assert.deepEqual(verified.tables, ['orders']);
    assert.equal(verified.result.totalMismatches, 0);
    assert.deepEqual(
      verified.result.tables.map((t) => t.table),
      ['orders'],
    );
    const badTable = await inProc(['verify', ID, '--table', 'nope']);
    expectCode(badTable, 2);
    assert.match(badTable.stderr, /unknown table nope; the plan has customers, orders, order_lines/);

    // finalize is refused before its gate (validator), after the CLI's own --confirm check passed.
    const finalize = await inProc(['finalize', ID, '--confirm']);
    expectCode(finalize, 1);
    assert.match(finalize.stderr, /the FINALIZE gate is not open/);

    // watch (not a TTY here: text frames); Ctrl-C stops watching and leaves the workflow running.
    const watcher = spawnMigrate(['watch', ID, '--interval', '0.5'], temporalEnv());
    await until(() => /copy order_lines/.test(watcher.stdout()), 'a watch frame', 40_000);
    watcher.child.kill('SIGINT');
    const watched = await watcher.done;
    expectCode(watched, 130);
    assert.match(watched.stdout, /^reads on target +\[#+-+\] +5% write DUAL_SOURCE_FIRST/m);
    assert.match(watched.stdout, /^copy customers +\[#+\] 100% done/m);
    assert.match(watched.stdout, /^lag: forward /m);
    assert.match(watched.stdout, /keeps running/);
    assert.equal((await handle.describe()).status.name, 'RUNNING');

    // watch --json follows to the end: one JSON document per line; abort ends the run, exit 5.
    const follower = spawnMigrate(['watch', ID, '--json', '--interval', '0.5'], temporalEnv());
    await until(() => follower.stdout().includes('\n'), 'a first watch --json line', 40_000);
    expectCode(await inProc(['abort', ID, '--by', 'dave', '--reason', 'end of test']), 0);
    const followed = await follower.done;
    expectCode(followed, 5);
    const docs = followed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as StatusDocument);
    assert.equal(docs[0].status.phase, 'READ_SWITCH');
    assert.equal(docs.at(-1)?.execution.status, 'COMPLETED');
    assert.equal(docs.at(-1)?.status.state, 'ABORTED');
    const waited = await inProc(['wait', ID, '--json']);
    expectCode(waited, 5);
    assert.equal(waited.json<{ state: string }>().state, 'ABORTED');
    const closed = await inProc(['pause', ID]);
    expectCode(closed, 1);
    assert.match(closed.stderr, /closed migration|has ended/);
  },
);
