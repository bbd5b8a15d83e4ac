/**
 * Every run the Temporal server holds, replayed with the real SDK (`Worker.runReplayHistories`). A
 * history a new worker cannot replay (a nondeterminism error) stalls the run the next time a worker
 * has to rebuild it; checked at the end, a test finds that whether or not it happened to kill a worker
 * afterwards.
 */
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';

const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

export async function replayEveryRun(
  client: Client,
  bundle?: { code: string },
): Promise<{ runs: number; problems: string[] }> {
  const options: ReplayWorkerOptions = bundle ? { workflowBundle: { code: bundle.code } } : { workflowsPath };
  const problems: string[] = [];
  let runs = 0;
  try {
    for await (const r of Worker.runReplayHistories(options, client.workflow.list().intoHistories())) {
      runs++;
      if (r.error) problems.push(`${r.workflowId} (run ${r.runId}): ${r.error.message}`);
    }
  } catch (err) {
    // A nondeterminism error may also end the replay worker itself.
    problems.push(`replay stopped after ${runs} runs: ${(err as Error).message}`);
  }
  return { runs, problems };
}
