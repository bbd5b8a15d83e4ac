/**
 * The real Temporal Web UI (@temporalio/ui in packages/devserver-ui, served by the embedded server)
 * against a running migration, in Debian's chromium: the workflow list filtered by MigrationPhase shows
 * it; its page shows the history, the pending activity and the current details; an `advance` signal
 * sent from the UI with a JSON payload passes the gate (seen by `migrate status`); the schedules page
 * lists the verification schedule. Screenshots of each page go to test-artifacts/ui/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { UI_VERSION } from '../../packages/devserver/src/http/settings.js';
import { ensureUiBuilt, uiPackageDir } from '../../packages/devserver-ui/ensure-built.mjs';
import { workflowRunPage } from '../../scripts/localstack/index.js';
import type { StatusDocument } from '../../src/cli/commands/status.js';
import { migrationWorkflowId, verificationScheduleId } from '../../src/workflows/api.js';
import { migrateInProcess } from '../cli/helpers.js';
import {
  atGate,
  createSchema,
  startEnv,
  startMigration,
  testPlan,
  waitStatus,
  type Env,
} from '../workflow/helpers.js';
import { freshArtifactsDir, launchBrowser, type Browser } from './browser.js';

const ID = 'uitest';
let env: Env;
let browser: Browser;
let page: Page;
let ui: string;
const shots = freshArtifactsDir();

before(async () => {
  ensureUiBuilt({ quiet: true }); // a no-op when CI (or an earlier run) built it
  env = await startEnv();
  browser = await launchBrowser();
  ui = env.stack.temporal?.uiUrl ?? '';
  assert.ok(ui, 'the stack serves the Web UI');
  await createSchema(env.stack, 200);
  page = await browser.context.newPage();
});

after(async () => {
  await browser?.close();
  await env?.stop();
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`) });
}

test('the server announces the UI version the shell is built from (it selects request shapes)', () => {
  const shell = JSON.parse(readFileSync(join(uiPackageDir, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  assert.equal(UI_VERSION, shell.devDependencies['@temporalio/ui']);
});

test('watch and steer a migration in Temporal UI', { timeout: 240_000 }, async () => {
  try {
    await watchAndSteer();
  } catch (err) {
    await shot('failure').catch(() => undefined); // what the page showed when it failed
    throw err;
  }
});

async function watchAndSteer(): Promise<void> {
  const handle = await startMigration(env, testPlan(ID));
  const atFirstGate = await atGate(handle, 'DUAL_WRITE_SOURCE_FIRST', undefined, 150_000);
  const workflowId = migrationWorkflowId(ID);
  const runId = (await handle.describe()).runId;

  // 1. The namespace's workflow list, filtered by the MigrationPhase search attribute.
  const phase = atFirstGate.phase;
  const listPage = (q: string) => `${ui}/namespaces/default/workflows?query=${encodeURIComponent(q)}`;
  await page.goto(listPage(`MigrationPhase = '${phase}'`));
  const row = page.getByRole('link', { name: workflowId, exact: true });
  await row.waitFor();
  await shot('1-workflows-filtered-by-phase');
  // The same list filtered by another phase does not show it (the filter is applied, not ignored).
  const listed = page.waitForResponse((r) => r.url().includes('/api/v1/namespaces/default/workflows?'));
  await page.goto(listPage(`MigrationPhase = 'FINALIZE'`));
  await listed;
  await page.getByRole('heading', { name: /^0 Workflows/ }).waitFor();
  assert.equal(await row.count(), 0, 'another phase does not list the migration');

  // 2. The run's page: history, current details, pending activity.
  await page.goto(workflowRunPage(ui, 'default', workflowId, runId));
  await page.getByText('Workflow Task Completed').first().waitFor(); // a row of the event history
  await page.getByText('Current Details').first().click();
  // The current details (markdown the workflow sets) render in the UI's iframe.
  const details = page.frameLocator('iframe[title="output"]');
  await details.getByText(`Gate: ${atFirstGate.gate?.waitingFor ?? ''}`).waitFor();
  await shot('2-history-and-current-details');
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  assert.ok(pending.length > 0, 'the migration has a pending activity at the gate');
  await page.goto(
    `${workflowRunPage(ui, 'default', workflowId, runId).replace(/\/history$/, '')}/pending-activities`,
  );
  await page.getByText(String(pending[0].activityType?.name)).first().waitFor();
  await shot('3-pending-activities');

  // 3. Signal `advance` from the UI with a JSON payload; the gate passes (migrate status says so).
  await page.goto(workflowRunPage(ui, 'default', workflowId, runId));
  await page.locator('#workflow-actions-menu-button').locator('visible=true').click();
  await page.locator('#workflow-actions-menu').locator('visible=true').getByText('Send a Signal').click();
  const modal = page.getByTestId('signal-confirmation-modal').locator('visible=true');
  await modal.getByTestId('signal-select-button').click();
  await modal.getByRole('option', { name: 'advance', exact: true }).click(); // from the workflow's metadata
  await modal.locator('.cm-content').click();
  await page.keyboard.insertText(JSON.stringify({ by: 'ui-test', reason: 'sent from Temporal UI' }));
  await shot('4-signal-advance-from-the-ui');
  await modal.getByTestId('confirm-modal-button').click();
  await modal.waitFor({ state: 'hidden' });
  // The UI refreshes the run: the newest event on top of the history is the signal it sent.
  await page.getByText('Workflow Execution Signaled').first().waitFor();
  await shot('5-history-after-the-signal');

  // `migrate status` (the operator CLI) sees the gate passed, by whom the payload says.
  const deadline = Date.now() + 60_000;
  let doc: StatusDocument | undefined;
  for (;;) {
    doc = (await migrateInProcess(['status', ID, '--json'])).json<StatusDocument>();
    if (doc.status.audit.some((a) => a.command === 'advance' && a.by === 'ui-test' && a.accepted)) break;
    assert.ok(Date.now() < deadline, `no accepted advance by ui-test in ${JSON.stringify(doc.status.audit)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const advanced = await waitStatus(
    handle,
    (s) => s.phase !== phase || s.gate?.next !== 'DUAL_WRITE_SOURCE_FIRST',
    'the gate passed',
  );
  assert.notEqual(advanced.gate?.next, 'DUAL_WRITE_SOURCE_FIRST');

  // 4. The verification schedule (created in DUAL_WRITE_SOURCE_FIRST) on the schedules page.
  await waitStatus(handle, (s) => s.verificationScheduleId !== null, 'verification schedule', 90_000);
  await page.goto(`${ui}/namespaces/default/schedules`);
  await page.getByText(verificationScheduleId(ID), { exact: true }).first().waitFor();
  await shot('6-schedules');
}
