import type { Command } from 'commander';
import { migrationWorkflowId } from '../../workflows/api.js';
import { action, withCommonOptions, type ActionResult, type Runtime } from '../common.js';
import { loadPlan } from './start.js';

/** `migrate plan validate <file>`: the config module's checks, offline (no Temporal needed). */
export function registerPlanCommands(program: Command, runtime: Runtime, result: ActionResult): void {
  const plan = program.command('plan').description('migration plan files');
  withCommonOptions(
    plan
      .command('validate')
      .description('check a plan file (fields, phases, gates, no credentials); prints the effective plan')
      .argument('<file>', 'plan file (YAML or JSON)')
      .option('--id <name>', "migration id (overrides the plan's id)"),
    runtime,
  ).action(
    action(runtime, result, async (ctx, file: string) => {
      const loaded = loadPlan(file, (ctx.options as { id?: string }).id);
      ctx.out.result({ ok: true, file, workflowId: migrationWorkflowId(loaded.id), plan: loaded }, () =>
        [
          `${file}: valid plan "${loaded.id}" (workflow ${migrationWorkflowId(loaded.id)})`,
          `  tables: ${loaded.tables.map((t) => (t.targetName ? `${t.name} -> ${t.targetName}` : t.name)).join(', ')}`,
          `  phases: ${loaded.phases.join(' -> ')}`,
          `  read steps: ${loaded.readSteps.join(', ')} %`,
        ].join('\n'),
      );
    }),
  );
}
