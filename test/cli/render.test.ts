/** The human views as pure functions of MigrationStatus: `migrate status` and the `migrate watch` frame. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderStatus, phaseLabel } from '../../src/cli/render/status-view.js';
import { barText, liveFrame, renderFrameText, type LiveRow } from '../../src/cli/render/live-view.js';
import { ProgressDisplay, TextDisplay } from '../../src/cli/watch/display.js';
import { sampleStatus } from './fixtures.js';

type Bar = Extract<LiveRow, { kind: 'bar' }>;
const bars = (rows: LiveRow[]) => rows.filter((r): r is Bar => r.kind === 'bar');
const texts = (rows: LiveRow[]) =>
  rows.filter((r) => r.kind === 'text').map((r) => (r as { text: string }).text);

test('status view shows phase, gate, switches, copy, CDC, repairs, verification, compensation stack and audit', () => {
  const text = renderStatus(sampleStatus(), { workflowId: 'migration-shop', status: 'RUNNING' });
  assert.match(text, /^Migration: +shop \(workflow migration-shop, RUNNING\)$/m);
  assert.match(text, /^Phase: +READ_SWITCH @ 25% \(8\/11\)$/m);
  assert.match(text, /^State: +WAITING$/m);
  assert.match(
    text,
    /write DUAL_SOURCE_FIRST, reads 25% on target \(version 7, acked by router-a, router-b\)/,
  );
  assert.match(text, /waiting to enter READ_SWITCH 50% since 2026-11-21 09:40:00Z: advance/);
  assert.match(text, /auto-advance in 42s if health holds/);
  // Copy table: one row per table with progress.
  assert.match(text, /orders +done +1,200 +~1,180 +100% +2\/2/);
  assert.match(text, /customers +copying +250 +~1,000 +25% +0\/1/);
  assert.match(text, /order_items +pending +0 +\? +- +0\/1/);
  // CDC lag and positions.
  assert.match(text, /shop-forward +forward +yes +0-1-77 +0-1-80 +0\.4s \(1,111 B\)/);
  assert.match(
    text,
    /12 passes source->target, 3,400 rows checked, repaired missing 1, extra 0, different 2.*; by phase: CATCH_UP_VERIFY 3 \(loop 0, verification 3, drain 0\)/,
  );
  assert.match(
    text,
    /scheduled:migration-shop-verify-1 at 2026-11-21 09:39:30Z \(source authoritative\): 1 mismatches/,
  );
  assert.match(text, /orders: missing 0, extra 0, different 1 of 1,200 rows/);
  // Writes that bypassed the router: side, table, rows, unrepaired, first keys.
  assert.match(text, /source +orders +3 +1 +\[17\] \[18\]/);
  assert.match(text, /source: 3 foreign, 812 router, 0 product row changes/);
  // Compensation stack, top (what rollback undoes first) first.
  const stack = text.slice(text.indexOf('Compensation stack'));
  assert.ok(stack.indexOf('READ_SWITCH 25%') < stack.indexOf('START_SYNC'));
  assert.ok(stack.indexOf('START_SYNC') < stack.indexOf('PREPARE_TARGET'));
  assert.match(stack, /dropCreatedTables\(order_lines\)/);
  assert.match(stack, /restoreReadPercent\(5\)/);
  // Audit log: who, what, accepted or rejected, why.
  assert.match(text, /Audit \(last 2 of 2\)/);
  assert.match(
    text,
    /alice@ops +advance +update +accepted +advancing into DUAL_WRITE_SOURCE_FIRST \(reason: catch-up verified\)/,
  );
  assert.match(text, /bob@ops +setReadPercent +update +rejected +not a read step/);
  assert.match(text, /Warnings\n +2026-11-21 09:39:30Z scheduled verification found 1 mismatches/);
});

test('status view: audit limit, errors, empty sections, FINALIZE confirmation', () => {
  const many = Array.from({ length: 15 }, (_, i) => ({ ...sampleStatus().audit[0], message: `entry ${i}` }));
  const text = renderStatus(
    sampleStatus({
      audit: many,
      error: 'copy failed: table orders has no key',
      compensation: [],
      sync: [],
      lastVerification: null,
      gate: {
        ...sampleStatus().gate!,
        next: 'FINALIZE',
        nextReadPercent: undefined,
        autoAdvance: false,
        requiresConfirmation: true,
      },
    }),
    undefined,
    { auditEntries: 3 },
  );
  assert.match(text, /Audit \(last 3 of 15\)/);
  assert.ok(text.includes('entry 14') && text.includes('entry 12') && !text.includes('entry 11'));
  assert.match(text, /^Error: +copy failed: table orders has no key$/m);
  assert.match(text, /Compensation stack \(top first\)\n +empty/);
  assert.match(text, /CDC\n +no stream/);
  assert.match(text, /Last verification\n +none yet/);
  assert.match(text, /needs `migrate finalize --confirm`/);
  assert.equal(phaseLabel({ phase: 'DONE', readStep: null }), 'DONE');
  assert.equal(phaseLabel({ phase: 'PRECHECK', readStep: null }), 'PRECHECK (1/11)');
});

test('live frame: phase, read-percent and per-table copy bars, then lag, repairs, verification, audit', () => {
  const frame = liveFrame(sampleStatus(), { workflowId: 'migration-shop', status: 'RUNNING' });
  assert.equal(frame.closed, false);
  const b = bars(frame.rows);
  assert.deepEqual(
    b.map((x) => [x.key, x.value, x.total]),
    [
      ['phase', 7, 11],
      ['read', 25, 100],
      ['table:orders', 1200, 1200],
      ['table:customers', 250, 1000],
      ['table:order_items', 0, 1],
    ],
  );
  // Labels are padded to one width so the bars line up.
  assert.equal(new Set(b.map((x) => x.label.length)).size, 1);
  assert.match(b[0].detail, /READ_SWITCH @ 25% \(8\/11\)/);
  assert.match(b[1].detail, /write DUAL_SOURCE_FIRST, switch v7/);
  assert.match(b[3].detail, /copying, 250 rows of ~1,000, ranges 0\/1/);
  const t = texts(frame.rows);
  assert.match(t[0], /^migration shop: WAITING +\[RUNNING\]/);
  assert.ok(t.includes('lag: forward 0.4s (1,111 B)'), t.join('\n'));
  assert.ok(
    t.some((x) =>
      /^repair: 12 passes, 3,400 checked, repaired 3 \(missing 1, extra 0, different 2\)$/.test(x),
    ),
    t.join('\n'),
  );
  assert.ok(
    t.some((x) => /^verified: scheduled:migration-shop-verify-1 .*: 1 mismatches, 0 repaired$/.test(x)),
  );
  assert.ok(t.some((x) => /^gate: waiting to enter READ_SWITCH 50%/.test(x)));
  assert.ok(t.some((x) => /^last: .* bob@ops setReadPercent rejected: not a read step$/.test(x)));

  const closed = liveFrame(sampleStatus({ state: 'FAILED', error: 'boom' }), {
    workflowId: 'migration-shop',
    status: 'FAILED',
  });
  assert.equal(closed.closed, true);
  assert.ok(texts(closed.rows).includes('error: boom'));
  // Without execution info the frame is never "closed" (the status alone cannot tell).
  assert.equal(liveFrame(sampleStatus()).closed, false);
});

test('live frame as plain text is stable and deterministic', () => {
  const frame = liveFrame(sampleStatus());
  assert.equal(renderFrameText(frame), renderFrameText(liveFrame(sampleStatus())));
  const line = barText({ kind: 'bar', key: 'x', label: 'copy t', value: 1, total: 4, detail: 'd' }, 8);
  assert.equal(line, 'copy t [##------]  25% d');
  assert.equal(
    barText({ kind: 'bar', key: 'x', label: 'l', value: 5, total: 0, detail: '' }, 4),
    'l [----]   0% ',
  );
  const text = renderFrameText(frame, 10);
  assert.match(text, /^phase +\[######----\] {2}63% READ_SWITCH @ 25% \(8\/11\)$/m);
  assert.match(text, /^copy customers +\[###-------\] {2}25% copying/m);
});

/** A writable that claims to be a TTY and keeps what is written. */
function fakeTty(): PassThrough & { isTTY: boolean; columns: number; output(): string } {
  const stream = new PassThrough() as PassThrough & {
    isTTY: boolean;
    columns: number;
    output(): string;
    cursorTo?: unknown;
  };
  let out = '';
  stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stream.isTTY = true;
  stream.columns = 200;
  // cli-progress moves the cursor through readline helpers on the stream.
  Object.assign(stream, {
    cursorTo: (_x: number, _y?: number, cb?: () => void) => (cb?.(), true),
    moveCursor: (_dx: number, _dy: number, cb?: () => void) => (cb?.(), true),
    clearLine: (_dir: number, cb?: () => void) => (cb?.(), true),
    clearScreenDown: (cb?: () => void) => (cb?.(), true),
    getWindowSize: () => [200, 50],
  });
  stream.output = () => out;
  return stream;
}

test('TTY display draws the frame with cli-progress bars and redraws a changed layout', async () => {
  const tty = fakeTty();
  const display = new ProgressDisplay(tty);
  display.show(liveFrame(sampleStatus()));
  await sleep(150);
  display.show(liveFrame(sampleStatus({ tables: sampleStatus().tables.slice(0, 1) })));
  display.stop();
  const plain = tty.output().replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g'), '');
  assert.match(plain, /phase +\S+ +63% READ_SWITCH @ 25%/);
  assert.match(plain, /reads on target +\S+ +25% write DUAL_SOURCE_FIRST/);
  assert.match(plain, /copy customers +\S+ +25% copying/);
  assert.match(plain, /lag: forward 0\.4s/);
});

test('non-TTY display prints a frame only when it changed', () => {
  const chunks: string[] = [];
  const display = new TextDisplay({
    write: (s: string) => (chunks.push(s), true),
  } as unknown as NodeJS.WritableStream);
  display.show(liveFrame(sampleStatus()));
  display.show(liveFrame(sampleStatus()));
  display.show(liveFrame(sampleStatus({ updatedAt: '2026-11-21T09:41:03.000Z' })));
  assert.equal(chunks.length, 2);
});
