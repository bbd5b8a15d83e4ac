import {
  PHASES,
  type ActivityView,
  type AuditEntry,
  type FailureView,
  type HealthView,
  type CompensationAction,
  type CompensationFrame,
  type GateStatus,
  type MigrationStatus,
  type MismatchCounts,
  type SyncStreamView,
  type VerificationSummary,
} from '../../workflows/api.js';
import { count, fields, percent, seconds, section, table, timestamp } from './format.js';

/** How the workflow execution itself stands (from describe), next to what it reports. */
export interface ExecutionInfo {
  workflowId: string;
  /** Temporal's execution status name: RUNNING, COMPLETED, FAILED, ... */
  status: string;
  closeTime?: string | null;
}

export interface StatusViewOptions {
  /** Audit entries shown, newest last (default 10). */
  auditEntries?: number;
}

/** Phase position in the full procedure, e.g. "BULK_COPY (4/11)"; DONE has no number. */
export function phaseLabel(status: Pick<MigrationStatus, 'phase' | 'readStep'>): string {
  const last = PHASES.length - 1; // DONE is not a step
  const index = PHASES.indexOf(status.phase);
  const step = status.phase === 'READ_SWITCH' && status.readStep !== null ? ` @ ${status.readStep}%` : '';
  return index >= 0 && index < last ? `${status.phase}${step} (${index + 1}/${last})` : status.phase;
}

export function mismatchText(m: MismatchCounts): string {
  return `missing ${count(m.missing)}, extra ${count(m.extra)}, different ${count(m.different)}`;
}

export function mismatchTotal(m: MismatchCounts): number {
  return m.missing + m.extra + m.different;
}

export function stateLine(status: MigrationStatus): string {
  const flags: string[] = [status.state];
  if (status.paused && status.state !== 'PAUSED') flags.push('paused');
  if (status.rollingBackTo) flags.push(`rolling back to ${status.rollingBackTo}`);
  return flags.join(', ');
}

export function failureText(f: FailureView): string {
  const lines = [`${f.where === 'step' ? 'step' : f.where} of ${f.phase} failed at ${timestamp(f.at)}`];
  if (f.activity) lines.push(`activity: ${f.activity}`);
  if (f.table) lines.push(`table: ${f.table}`);
  if (f.setting) lines.push(`setting: ${f.setting}`);
  lines.push(`error: ${f.message}`);
  if (f.fix && !f.message.includes(f.fix)) lines.push(`fix: ${f.fix}`);
  lines.push('then `migrate advance` retries it (or `migrate rollback` / `migrate abort`)');
  return lines.join('\n');
}

export function gateText(gate: GateStatus | null): string {
  if (!gate) return 'none';
  const into = gate.nextReadPercent !== undefined ? `${gate.next} ${gate.nextReadPercent}%` : gate.next;
  if (gate.failed) return `FAILED (${into}): ${gate.waitingFor}`;
  const parts = [`waiting to enter ${into} since ${timestamp(gate.since)}: ${gate.waitingFor}`];
  if (gate.requiresConfirmation) parts.push('needs `migrate finalize --confirm`');
  if (gate.autoAdvance) {
    parts.push(
      gate.soakRemainingSeconds !== null
        ? `auto-advance in ${seconds(gate.soakRemainingSeconds)} if health holds`
        : 'auto-advance: soak not running',
    );
  }
  if (gate.blockers.length)
    parts.push(`blocked by: ${gate.blockers.join('; ')} (advance needs --force --reason)`);
  return parts.join('\n');
}

export function switchesText(status: MigrationStatus): string {
  const s = status.switches;
  const acks = s.ackedBy.length ? `acked by ${s.ackedBy.join(', ')}` : 'no router ack yet';
  return `write ${s.writeMode}, reads ${s.readPercent}% on target (version ${s.version}, ${acks})`;
}

function position(p: SyncStreamView['applied']): string {
  if (!p) return '-';
  return p.gtid ? p.gtid : `${p.file}:${p.pos}`;
}

export function lagText(stream: SyncStreamView): string {
  if (stream.lagSeconds === null && stream.lagBytes === null) return '-';
  const bytes = stream.lagBytes !== null ? ` (${count(stream.lagBytes)} B)` : '';
  return `${seconds(stream.lagSeconds)}${bytes}`;
}

function copyTable(status: MigrationStatus): string {
  if (!status.tables.length) return 'no tables';
  return table(
    ['TABLE', 'STATE', 'ROWS', 'OF', 'DONE', 'RANGES'],
    status.tables.map((t) => [
      t.table,
      t.state,
      count(t.rowsCopied),
      t.estimatedRows === null ? '?' : `~${count(t.estimatedRows)}`,
      t.state === 'done' ? '100%' : percent(t.rowsCopied, t.estimatedRows),
      `${t.rangesDone}/${t.ranges}`,
    ]),
  );
}

function syncTable(streams: SyncStreamView[]): string {
  if (!streams.length) return 'no stream';
  return table(
    ['STREAM', 'DIRECTION', 'RUNNING', 'APPLIED', 'HEAD', 'LAG', 'CHECKED'],
    streams.map((s) => [
      s.stream,
      s.direction,
      s.running ? 'yes' : 'no',
      position(s.applied),
      position(s.head),
      lagText(s),
      timestamp(s.checkedAt),
    ]),
  );
}

export function repairText(status: MigrationStatus): string {
  const r = status.repair;
  const direction = r.direction ? ` ${r.direction}` : '';
  return (
    `${count(r.passes)} passes${direction}, ${count(r.rowsChecked)} rows checked, repaired ${mismatchText(r.repaired)}` +
    (r.lastPassAt ? `, last pass ${timestamp(r.lastPassAt)}` : '') +
    // Rows found wrong under lock, by phase ("lost, then fixed"; none expected once routers dual write).
    ((r.byPhase ?? []).length
      ? `; by phase: ${r.byPhase.map((p) => `${p.phase} ${p.loop + p.verification + p.drain} (loop ${p.loop}, verification ${p.verification}, drain ${p.drain})`).join(', ')}`
      : '')
  );
}

/** Writes that bypassed the router, per watched side and table (status.bypass). */
export function bypassTable(status: MigrationStatus): string {
  const reports = status.bypass ?? [];
  if (!reports.length) return 'not watched (watchers run while dual writing)';
  const rows: string[][] = [];
  for (const r of reports) {
    if (r.unavailable) rows.push([r.side, '-', '-', '-', `not watched: ${r.unavailable}`]);
    for (const t of r.tables)
      rows.push([
        r.side,
        t.table,
        count(t.count),
        count(t.unrepaired),
        t.firstKeys.map((k) => JSON.stringify(k)).join(' '),
      ]);
  }
  const seen = reports
    .map(
      (r) =>
        `${r.side}: ${count(r.changes.foreign)} foreign, ${count(r.changes.router)} router, ${count(r.changes.product)} product row changes`,
    )
    .join('; ');
  return (
    (rows.length ? table(['SIDE', 'TABLE', 'ROWS', 'UNREPAIRED', 'FIRST KEYS'], rows) + '\n' : 'none\n') +
    seen
  );
}

export function healthText(h: HealthView): string {
  if (!h.checkedAt) return 'not measured yet';
  const lag = h.lagUnknown
    ? `lag UNKNOWN (${h.lagUnknown})`
    : h.lagSeconds === null
      ? 'no CDC stream'
      : `worst lag ${seconds(h.lagSeconds)}`;
  const extra = [
    h.repairUnknown ? `repair counters unknown (${h.repairUnknown})` : null,
    h.unconfirmedReports ? `${h.unconfirmedReports} verification report(s) being confirmed` : null,
  ].filter(Boolean);
  return `measured ${timestamp(h.checkedAt)} (#${h.refreshes}): ${lag}${extra.length ? `; ${extra.join('; ')}` : ''}`;
}

function activitiesTable(list: ActivityView[]): string {
  if (!list.length) return 'none';
  return table(
    ['ACTIVITY', 'STATE', 'ATTEMPT', 'NO PROGRESS', 'NEXT TRY', 'LAST ERROR'],
    list.map((a) => [
      a.activity,
      a.state,
      String(a.attempt),
      a.secondsSinceProgress === null ? '-' : seconds(a.secondsSinceProgress),
      a.nextAttemptAt ? timestamp(a.nextAttemptAt) : '-',
      a.lastFailure ?? '-',
    ]),
  );
}

export function verificationText(v: VerificationSummary | null): string {
  if (!v) return 'none yet';
  const head =
    `${v.origin} at ${timestamp(v.finishedAt)} (${v.authoritative} authoritative${v.repair ? ', repairing' : ''}): ` +
    `${count(v.totalMismatches)} mismatches, ${count(v.totalRepaired)} repaired`;
  const differing = v.tables.filter((t) => mismatchTotal(t.mismatches) > 0);
  if (!differing.length) return head;
  return [
    head,
    ...differing.map((t) => `${t.table}: ${mismatchText(t.mismatches)} of ${count(t.rowsCompared)} rows`),
  ].join('\n');
}

export function actionText(a: CompensationAction): string {
  switch (a.kind) {
    case 'dropCreatedTables':
    case 'truncateTarget':
      return `${a.kind}(${a.tables.join(', ')})`;
    case 'restoreReadPercent':
      return `restoreReadPercent(${a.percent})`;
    default:
      return a.kind;
  }
}

function compensationTable(stack: CompensationFrame[]): string {
  if (!stack.length) return 'empty';
  // Top of the stack first: that is what a rollback undoes first.
  return table(
    ['STEP', 'ENTERED', 'UNDO (runs right to left)'],
    [...stack]
      .reverse()
      .map((f) => [
        f.readPercent !== undefined ? `${f.phase} ${f.readPercent}%` : f.phase,
        timestamp(f.enteredAt),
        f.actions.length ? f.actions.map(actionText).join(', ') : '-',
      ]),
  );
}

export function auditTable(entries: AuditEntry[], last: number): string {
  if (!entries.length) return 'empty';
  const shown = entries.slice(-last);
  return table(
    ['AT', 'BY', 'COMMAND', 'VIA', 'RESULT', 'MESSAGE'],
    shown.map((e) => [
      timestamp(e.at),
      e.by ?? '-',
      e.command,
      e.via,
      e.accepted ? 'accepted' : 'rejected',
      e.reason ? `${e.message} (reason: ${e.reason})` : e.message,
    ]),
  );
}

/** The human `migrate status` view: a pure function of the workflow's status (and its execution). */
export function renderStatus(
  status: MigrationStatus,
  execution?: ExecutionInfo,
  options: StatusViewOptions = {},
): string {
  const auditEntries = options.auditEntries ?? 10;
  const head: [string, string][] = [
    [
      'Migration',
      `${status.migrationId}${execution ? ` (workflow ${execution.workflowId}, ${execution.status})` : ''}`,
    ],
    ['Phase', phaseLabel(status)],
    ['State', stateLine(status)],
    ['Doing', status.activity || '-'],
    ['Switches', switchesText(status)],
    [
      'Started',
      `${timestamp(status.startedAt)}, updated ${timestamp(status.updatedAt)}, run ${status.runCount}`,
    ],
  ];
  if (status.error) head.push(['Error', status.error]);
  const parts = [fields(head)];
  if (status.failure) parts.push(section('FAILED', failureText(status.failure)));
  parts.push(
    section('Gate', gateText(status.gate)),
    section('Health', healthText(status.health)),
    section('Activities', activitiesTable(status.activities)),
    section('Copy', copyTable(status)),
    section('CDC', syncTable(status.sync)),
    section('Repair', repairText(status)),
    section('Writes that bypassed the router', bypassTable(status)),
    section('Last verification', verificationText(status.lastVerification)),
  );
  if (status.lastScheduledVerification && status.lastScheduledVerification !== status.lastVerification) {
    parts.push(section('Last scheduled verification', verificationText(status.lastScheduledVerification)));
  }
  parts.push(section('Compensation stack (top first)', compensationTable(status.compensation)));
  parts.push(
    section(
      `Audit (last ${Math.min(auditEntries, status.audit.length)} of ${status.audit.length})`,
      auditTable(status.audit, auditEntries),
    ),
  );
  if (status.warnings.length) {
    parts.push(
      section(
        'Warnings',
        status.warnings
          .slice(-5)
          .map((w) => `${timestamp(w.at)} ${w.message}`)
          .join('\n'),
      ),
    );
  }
  return parts.join('\n\n');
}
