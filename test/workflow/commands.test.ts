import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPlan } from '../../src/config/index.js';
import { acceptCommand, recordRejection, validateCommand } from '../../src/workflows/commands.js';
import { planRollback, rollbackTargetIndex } from '../../src/workflows/compensation.js';
import { stepSoak } from '../../src/workflows/soak.js';
import { gateBlockers } from '../../src/workflows/gate-health.js';
import { initialState, type MigrationState } from '../../src/workflows/state.js';
import { nextStep } from '../../src/workflows/transitions.js';
import type { CompensationFrame, Phase } from '../../src/workflows/api.js';

const plan = defaultPlan('t', ['a', 'b']);
const NOW = '2026-01-01T00:00:00.000Z';

function frame(
  phase: Phase,
  readPercent?: number,
  actions: CompensationFrame['actions'] = [],
): CompensationFrame {
  return { phase, readPercent, enteredAt: NOW, actions };
}

function at(frames: CompensationFrame[], waiting = true, gateNext?: Phase): MigrationState {
  const s = initialState(plan, NOW);
  s.frames = frames;
  s.topDone = true;
  if (waiting) {
    const next = nextStep(plan, frames[frames.length - 1]);
    s.state = 'WAITING';
    s.gate = {
      next: gateNext ?? next!.phase,
      nextReadPercent: next?.readPercent,
      waitingFor: 'advance',
      since: NOW,
      autoAdvance: false,
      soakStartedAt: null,
      soakRemainingSeconds: null,
      blockers: [],
      failed: null,
      requiresConfirmation: (gateNext ?? next!.phase) === 'FINALIZE',
    };
  }
  return s;
}

const upTo = (last: Phase) => {
  const out: CompensationFrame[] = [];
  for (const p of plan.phases) {
    if (p === 'READ_SWITCH') for (const r of plan.readSteps) out.push(frame(p, r));
    else out.push(frame(p));
    if (p === last) break;
  }
  return out;
};

test('next steps walk every phase and each read step, then end', () => {
  const seen: string[] = [];
  let top: CompensationFrame | undefined;
  for (;;) {
    const n = nextStep(plan, top);
    if (!n) break;
    seen.push(n.readPercent !== undefined ? `${n.phase}@${n.readPercent}` : n.phase);
    top = frame(n.phase, n.readPercent);
  }
  assert.deepEqual(seen.slice(6, 12), [
    'REPAIR_LOOP',
    'READ_SWITCH@1',
    'READ_SWITCH@5',
    'READ_SWITCH@25',
    'READ_SWITCH@50',
    'READ_SWITCH@100',
  ]);
  assert.equal(seen.at(-1), 'FINALIZE');
});

test('invalid commands are rejected with a reason and leave the state unchanged', () => {
  const s = at(upTo('READ_SWITCH').slice(0, 11)); // READ_SWITCH@50
  const before = JSON.stringify(s);
  const cases: [string, unknown, RegExp][] = [
    ['rollback', { toPhase: 'NOPE' }, /unknown phase "NOPE"/],
    ['rollback', { toPhase: 'TARGET_ONLY' }, /not an earlier step/],
    ['rollback', { toPhase: 'READ_SWITCH', readPercent: 50 }, /already in READ_SWITCH/],
    ['rollback', { toPhase: 'FINALIZE' }, /cannot roll back to FINALIZE/],
    ['setReadPercent', { percent: 101 }, /outside 0-100/],
    ['setReadPercent', { percent: -1 }, /outside 0-100/],
    ['setReadPercent', { percent: 'x' }, /must be a number/],
    ['finalize', { confirm: true }, /FINALIZE gate is not open/],
    ['finalize', {}, /confirm/],
    ['resume', {}, /not paused/],
    ['bogus', {}, /unknown command/],
    ['advance', 'text', /must be a JSON object/],
  ];
  for (const [cmd, payload, re] of cases) {
    const v = validateCommand(s, plan, cmd, payload);
    assert.equal(v.ok, false, `${cmd} ${JSON.stringify(payload)} should be rejected`);
    if (!v.ok) assert.match(v.reason, re);
  }
  assert.equal(JSON.stringify(s), before);
});

test('advance: not while paused, not without an open gate, FINALIZE needs confirmation', () => {
  const s = at(upTo('BULK_COPY'), false);
  s.state = 'RUNNING';
  const v1 = validateCommand(s, plan, 'advance', {});
  assert.ok(!v1.ok && /no gate is open/.test(v1.reason));
  const g = at(upTo('CATCH_UP_VERIFY'));
  assert.ok(validateCommand(g, plan, 'advance', {}).ok);
  g.paused = true;
  const v2 = validateCommand(g, plan, 'advance', {});
  assert.ok(!v2.ok && /paused/.test(v2.reason));
  const f = at(upTo('TARGET_ONLY'));
  const v3 = validateCommand(f, plan, 'advance', {});
  assert.ok(!v3.ok && /FINALIZE/.test(v3.reason));
  assert.ok(validateCommand(f, plan, 'advance', { confirm: true }).ok);
  assert.ok(validateCommand(f, plan, 'finalize', { confirm: true }).ok);
});

test('rollback past FINALIZE is refused', () => {
  const s = at([...upTo('TARGET_ONLY'), frame('FINALIZE')], false);
  s.topDone = false;
  s.state = 'RUNNING';
  const v = validateCommand(s, plan, 'rollback', { toPhase: 'READ_SWITCH' });
  assert.ok(!v.ok && /FINALIZE has started/.test(v.reason));
  const a = validateCommand(s, plan, 'abort', {});
  assert.ok(!a.ok && /irreversible/.test(a.reason));
});

test('rollback targets: one step back by default, a named phase, a read step', () => {
  const frames = upTo('READ_SWITCH').slice(0, 11); // ..., READ_SWITCH@1,5,25,50
  assert.deepEqual(rollbackTargetIndex(frames, undefined, undefined), { index: 9 });
  assert.deepEqual(rollbackTargetIndex(frames, 'REPAIR_LOOP', undefined), { index: 6 });
  assert.deepEqual(rollbackTargetIndex(frames, 'READ_SWITCH', 5), { index: 8 });
  assert.deepEqual(rollbackTargetIndex(frames, 'PRECHECK', undefined), { index: 0 });
});

test('rollback runs compensations LIFO, frame by frame', () => {
  const frames = [
    frame('PRECHECK'),
    frame('PREPARE_TARGET', undefined, [{ kind: 'dropCreatedTables', tables: ['a'] }]),
    frame('START_SYNC', undefined, [{ kind: 'stopForwardSync' }]),
    frame('BULK_COPY', undefined, [{ kind: 'truncateTarget', tables: ['a'] }]),
    frame('CATCH_UP_VERIFY'),
    frame('DUAL_WRITE_SOURCE_FIRST', undefined, [
      { kind: 'deleteVerificationSchedule' },
      { kind: 'backToSourceOnly' },
    ]),
  ];
  const kinds = planRollback(frames, 0).map((u) => u.action.kind);
  assert.deepEqual(kinds, [
    'backToSourceOnly',
    'deleteVerificationSchedule',
    'truncateTarget',
    'stopForwardSync',
    'dropCreatedTables',
  ]);
  assert.deepEqual(
    planRollback(frames, 4).map((u) => u.action.kind),
    ['backToSourceOnly', 'deleteVerificationSchedule'],
  );
});

test('accepted commands are audited; rejected signals leave a warning', () => {
  const s = at(upTo('CATCH_UP_VERIFY'));
  const v = validateCommand(s, plan, 'advance', { by: 'alice', reason: 'looks good' });
  assert.ok(v.ok);
  acceptCommand(s, plan, 'advance', { by: 'alice', reason: 'looks good' }, 'signal', NOW, 'ok');
  assert.deepEqual(s.pending.advance, { by: 'alice', confirm: false });
  assert.equal(s.audit.at(-1)?.by, 'alice');
  assert.equal(s.audit.at(-1)?.accepted, true);
  recordRejection(
    s,
    'setReadPercent',
    { percent: 200, by: 'bob' },
    'signal',
    NOW,
    'percent 200 is outside 0-100',
  );
  assert.equal(s.audit.at(-1)?.accepted, false);
  assert.match(s.warnings.at(-1)?.message ?? '', /ignored signal setReadPercent/);
});

test('auto-advance soak restarts on any blocker; unknown lag and stale health block', () => {
  const rule = { autoAdvance: true, soakSeconds: 10, maxLagSeconds: 2, requireNoMismatches: true };
  const clean = {
    origin: 'x',
    authoritative: 'source' as const,
    repair: false,
    startedAt: NOW,
    finishedAt: NOW,
    tables: [],
    totalMismatches: 0,
    totalRepaired: 0,
  };
  const health = (at: number, lagSeconds: number | null, lagUnknown: string | null = null) => ({
    checkedAt: new Date(at).toISOString(),
    refreshes: 1,
    lagSeconds,
    lagUnknown,
    repairUnknown: null,
    unconfirmedReports: 0,
  });
  const blockers = (at: number, h: ReturnType<typeof health>, v = clean) =>
    gateBlockers(rule, {
      now: at,
      health: h,
      latestVerification: v,
      maxHealthAgeMs: 60_000,
      bypassBlockers: [],
    });
  let r = stepSoak(rule, { soakStartedAt: null }, 0, blockers(0, health(0, 1)));
  assert.equal(r.ready, false);
  const lagging = blockers(6000, health(6000, 5));
  assert.match(lagging[0], /lag 5\.0 s is over 2 s/);
  r = stepSoak(rule, r.soak, 6000, lagging);
  assert.deepEqual(r.soak, { soakStartedAt: null });
  r = stepSoak(rule, r.soak, 7000, blockers(7000, health(7000, 0)));
  r = stepSoak(rule, r.soak, 17000, blockers(17000, health(17000, 0)));
  assert.equal(r.ready, true);
  // A failed health check (lag unknown) blocks: it must never read as healthy.
  assert.match(
    blockers(0, health(0, null, 'connect ECONNREFUSED'))[0],
    /CDC lag unknown: connect ECONNREFUSED/,
  );
  // Health that stopped being measured blocks.
  assert.match(blockers(120_000, health(0, 0))[0], /health last measured 120 s ago/);
  // Mismatches a verification left unresolved block; those a repairing run repaired do not.
  assert.match(blockers(0, health(0, 0), { ...clean, totalMismatches: 3 })[0], /3 unresolved mismatches/);
  assert.deepEqual(
    blockers(0, health(0, 0), { ...clean, repair: true, totalMismatches: 3, totalRepaired: 3 }),
    [],
  );
});

test('advance past blockers needs force with a reason; a failed gate retries without force', () => {
  const s = at([
    frame('PRECHECK'),
    frame('PREPARE_TARGET'),
    frame('START_SYNC'),
    frame('BULK_COPY'),
    frame('CATCH_UP_VERIFY'),
  ]);
  s.gate!.blockers = ['CDC lag unknown: x'];
  let v = validateCommand(s, plan, 'advance', { by: 'a' });
  assert.ok(!v.ok && /blocked by: CDC lag unknown: x.*force/.test(v.reason), JSON.stringify(v));
  v = validateCommand(s, plan, 'advance', { by: 'a', force: true });
  assert.ok(!v.ok && /force needs a "reason"/.test(v.reason));
  v = validateCommand(s, plan, 'advance', {
    by: 'a',
    force: true,
    reason: 'lag probe broken, checked by hand',
  });
  assert.ok(v.ok && /forced past: CDC lag unknown: x/.test(v.message));
  acceptCommand(
    s,
    plan,
    'advance',
    { by: 'a', force: true, reason: 'checked by hand' },
    'update',
    NOW,
    v.message,
  );
  const entry = s.audit[s.audit.length - 1];
  assert.deepEqual([entry.by, entry.reason, entry.args.force], ['a', 'checked by hand', true]);
  const f = at([frame('PRECHECK'), frame('PREPARE_TARGET'), frame('START_SYNC'), frame('BULK_COPY')]);
  f.gate!.failed = {
    at: NOW,
    where: 'step',
    phase: 'BULK_COPY',
    activity: 'copyTable',
    message: 'table gone',
    kind: 'fatal',
    table: 'orders',
    setting: null,
    fix: 'recreate it',
  };
  f.gate!.blockers = ['CDC lag unknown: x'];
  assert.ok(validateCommand(f, plan, 'advance', {}).ok);
});
