// Copies one key range of one table in this process (scale-out across processes or machines):
//   node --import tsx scripts/copy-range.ts '<CopyInput as JSON>' [<start at, epoch ms>]
// Connections come from this process's environment (MIGRATOR_DB_<NAME>), as for a worker. Waits until
// the start time if given (several processes starting together), then prints
// {"startedAt", "endedAt", "result": CopyResult} as JSON on stdout.
import { copyTable } from '../src/activities/copier/copy.js';
import type { CopyInput } from '../src/activities/contracts.js';
import { closePools } from '../src/activities/db/connections.js';

const input = JSON.parse(process.argv[2] ?? '{}') as CopyInput;
const startAt = Number(process.argv[3] ?? 0);
try {
  await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
  const startedAt = Date.now();
  const result = await copyTable(input);
  process.stdout.write(`${JSON.stringify({ startedAt, endedAt: Date.now(), result })}\n`);
} finally {
  await closePools();
}
