/**
 * Prints a plan file as the workflow input JSON (`{"plan": {...}}`, every default filled in), for
 * starting a migration with the `temporal` CLI:
 *   node --import tsx src/config/print.ts examples/plan.yaml
 */
import { loadPlanFile, PlanError } from './load.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: node --import tsx src/config/print.ts <plan.yaml|plan.json>');
  process.exit(2);
}
try {
  console.log(JSON.stringify({ plan: loadPlanFile(file) }));
} catch (err) {
  console.error(err instanceof PlanError ? err.message : String(err));
  process.exit(1);
}
