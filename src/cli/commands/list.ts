import { Option, type Command } from 'commander';
import { SA_PHASE, SA_READ_PERCENT, SA_WRITE_MODE, type Phase } from '../../workflows/api.js';
import { parsePhase, parseWholeNumber } from '../arguments.js';
import { action, withCommonOptions, type ActionResult, type CommonOptions, type Runtime } from '../common.js';
import { toCliError } from '../errors.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { table, timestamp } from '../render/format.js';
import { migrationIdOf, migrationQuery } from '../target.js';

export interface ListedMigration {
  migrationId: string;
  workflowId: string;
  runId: string;
  status: string;
  phase: string | null;
  writeMode: string | null;
  readPercent: number | null;
  startTime: string;
  closeTime: string | null;
}

interface ListOptions extends CommonOptions {
  phase?: Phase;
  running?: boolean;
  limit: number;
}

/** The visibility query of `migrate list`. */
export function listQuery(options: { phase?: Phase; running?: boolean }): string {
  const parts: string[] = [];
  if (options.phase) parts.push(`${SA_PHASE.name} = '${options.phase}'`);
  if (options.running) parts.push(`ExecutionStatus = 'Running'`);
  return migrationQuery(parts.length ? parts.join(' AND ') : undefined);
}

export function renderList(rows: ListedMigration[]): string {
  if (!rows.length) return 'no migrations';
  return table(
    ['ID', 'STATUS', 'PHASE', 'WRITE MODE', 'READ%', 'STARTED', 'CLOSED'],
    rows.map((r) => [
      r.migrationId,
      r.status,
      r.phase ?? '-',
      r.writeMode ?? '-',
      r.readPercent === null ? '-' : String(r.readPercent),
      timestamp(r.startTime),
      timestamp(r.closeTime),
    ]),
  );
}

export function registerListCommand(program: Command, runtime: Runtime, result: ActionResult): void {
  withCommonOptions(
    program
      .command('list')
      .description('migrations in the namespace (visibility query on WorkflowType and MigrationPhase)')
      .addOption(new Option('--phase <phase>', 'only migrations in this phase').argParser(parsePhase))
      .addOption(new Option('--running', 'only running workflows'))
      .addOption(new Option('--limit <n>', 'at most this many').argParser(parseWholeNumber(1)).default(100)),
    runtime,
  ).action(
    action(runtime, result, async (ctx) => {
      const options = ctx.options as ListOptions;
      const query = listQuery(options);
      const session = await ctx.session();
      const rows: ListedMigration[] = [];
      try {
        for await (const wf of session.client.workflow.list({ query })) {
          const sa = wf.typedSearchAttributes;
          rows.push({
            migrationId: migrationIdOf(wf.workflowId),
            workflowId: wf.workflowId,
            runId: wf.runId,
            status: wf.status.name,
            phase: sa.get(SA_PHASE) ?? null,
            writeMode: sa.get(SA_WRITE_MODE) ?? null,
            readPercent: sa.get(SA_READ_PERCENT) ?? null,
            startTime: wf.startTime.toISOString(),
            closeTime: wf.closeTime?.toISOString() ?? null,
          });
          if (rows.length >= options.limit) break;
        }
      } catch (err) {
        const mapped = await toCliError(err, ctx.errorContext);
        if (mapped.exitCode !== ExitCode.Usage) throw mapped;
        throw new CliError(
          ExitCode.Usage,
          `${mapped.message} (query: ${query}); the worker registers the custom search attributes when it starts (npm run worker)`,
        );
      }
      ctx.out.result({ ok: true, query, migrations: rows }, () => renderList(rows));
    }),
  );
}
