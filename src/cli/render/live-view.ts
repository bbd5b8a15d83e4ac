import { PHASES, type MigrationStatus } from '../../workflows/api.js';
import { count, timestamp } from './format.js';
import { gateText, lagText, mismatchTotal, phaseLabel, stateLine } from './status-view.js';
import type { ExecutionInfo } from './status-view.js';

/** One line of the live view: plain text, or a progress bar (cli-progress draws these on a TTY). */
export type LiveRow =
  | { kind: 'text'; key: string; text: string }
  | { kind: 'bar'; key: string; label: string; value: number; total: number; detail: string };

export interface LiveFrame {
  rows: LiveRow[];
  /** The execution has closed: the watcher draws this frame and exits. */
  closed: boolean;
}

function oneLine(text: string): string {
  return text.split('\n').join(' | ');
}

/**
 * The `migrate watch` view as a pure function of the workflow's status (and the execution's state):
 * phase and read-percent bars, one bar per table's copy progress, then lag, repair counters, the
 * latest verification and audit entry.
 */
export function liveFrame(status: MigrationStatus, execution?: ExecutionInfo): LiveFrame {
  const rows: LiveRow[] = [];
  const closed = execution !== undefined && execution.status !== 'RUNNING';
  const steps = PHASES.length - 1; // DONE is not a step
  const phaseIndex = Math.max(0, PHASES.indexOf(status.phase));
  const exec = execution ? `  [${execution.status}]` : '';
  rows.push({
    kind: 'text',
    key: 'title',
    text: `migration ${status.migrationId}: ${stateLine(status)}${exec}  (updated ${timestamp(status.updatedAt)})`,
  });

  const bars: { key: string; label: string; value: number; total: number; detail: string }[] = [];
  bars.push({
    key: 'phase',
    label: 'phase',
    value: Math.min(phaseIndex, steps),
    total: steps,
    detail: phaseLabel(status),
  });
  bars.push({
    key: 'read',
    label: 'reads on target',
    value: status.switches.readPercent,
    total: 100,
    detail: `write ${status.switches.writeMode}, switch v${status.switches.version}`,
  });
  for (const t of status.tables) {
    const total = Math.max(t.estimatedRows ?? 0, t.rowsCopied, 1);
    const value = t.state === 'done' ? total : Math.min(t.rowsCopied, total);
    const of = t.estimatedRows === null ? '' : ` of ~${count(t.estimatedRows)}`;
    bars.push({
      key: `table:${t.table}`,
      label: `copy ${t.table}`,
      value,
      total,
      detail: `${t.state}, ${count(t.rowsCopied)} rows${of}, ranges ${t.rangesDone}/${t.ranges}`,
    });
  }
  const width = Math.max(...bars.map((b) => b.label.length));
  for (const b of bars) rows.push({ kind: 'bar', ...b, label: b.label.padEnd(width) });

  rows.push({ kind: 'text', key: 'doing', text: `doing: ${status.activity || '-'}` });
  if (status.gate) rows.push({ kind: 'text', key: 'gate', text: `gate: ${oneLine(gateText(status.gate))}` });
  const lag = status.sync.length
    ? status.sync.map((s) => `${s.direction} ${s.running ? lagText(s) : 'stopped'}`).join(', ')
    : 'no CDC stream';
  rows.push({ kind: 'text', key: 'lag', text: `lag: ${lag}` });
  const r = status.repair;
  rows.push({
    kind: 'text',
    key: 'repair',
    text:
      `repair: ${count(r.passes)} passes, ${count(r.rowsChecked)} checked, ` +
      `repaired ${count(mismatchTotal(r.repaired))} (missing ${count(r.repaired.missing)}, extra ${count(r.repaired.extra)}, different ${count(r.repaired.different)})`,
  });
  const v = status.lastVerification;
  rows.push({
    kind: 'text',
    key: 'verify',
    text: v
      ? `verified: ${v.origin} ${timestamp(v.finishedAt)}: ${count(v.totalMismatches)} mismatches, ${count(v.totalRepaired)} repaired`
      : 'verified: not yet',
  });
  const last = status.audit.at(-1);
  if (last) {
    rows.push({
      kind: 'text',
      key: 'audit',
      text: `last: ${timestamp(last.at)} ${last.by ?? '-'} ${last.command} ${last.accepted ? 'accepted' : 'rejected'}: ${last.message}`,
    });
  }
  if (status.error) rows.push({ kind: 'text', key: 'error', text: `error: ${status.error}` });
  return { rows, closed };
}

/** A bar as plain text: "label [#####-----]  50% detail" (the non-TTY rendering, and tests). */
export function barText(row: Extract<LiveRow, { kind: 'bar' }>, width = 30): string {
  const ratio = row.total > 0 ? Math.min(1, Math.max(0, row.value / row.total)) : 0;
  const filled = Math.round(ratio * width);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${row.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${pct} ${row.detail}`;
}

export function renderFrameText(frame: LiveFrame, barWidth = 30): string {
  return frame.rows.map((row) => (row.kind === 'text' ? row.text : barText(row, barWidth))).join('\n');
}
