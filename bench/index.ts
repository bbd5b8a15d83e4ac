// `npm run bench`: runs every bench/sections/*.ts in name order (or the ones named on the command line),
// each printing its figures next to a baseline measured in the same run.
import { readdirSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { targetSummary } from './lib/targets.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'sections');
const wanted = process.argv.slice(2);
const sections = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .sort()
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)));
for (const file of sections) {
  // Other processes on the machine slow every contender; the load says how much the wall times mean.
  console.log(
    `\n=== ${file.replace(/\.ts$/, '')} === (load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores)`,
  );
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { run(): Promise<void> };
  await mod.run();
}
const summary = targetSummary();
if (summary.length > 0) console.log(`\n=== issue 12 targets, this run ===\n${summary.join('\n')}`);
