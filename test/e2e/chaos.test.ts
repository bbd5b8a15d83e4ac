/**
 * The main job under crashes: the demo's migration (two application processes writing through their
 * routers, a worker process, every phase with short auto-advance soaks) while things are SIGKILLed and
 * started again: the worker three times (copy, CDC, repair loop), the source MariaDB twice with CDC
 * running (during the copy, during catch-up), the embedded Temporal server (restarted from its state file), the target MariaDB
 * while dual writing, Redis. After each crash the run must show in its status that it recovered (copy
 * progress, CDC lag, repair loop counters, switches re-acknowledged); at the end the independent check
 * must hold on both servers (every row, every column, against the applications' ledgers), the
 * applications may have failed only while their database was down on purpose, every repair the
 * product made must be one a router reported, and every run the server kept through the crashes must
 * replay in a fresh worker (a nondeterminism error there stalls the run at the next worker restart).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { runDemo } from '../../scripts/demo/run.js';
import { replayEveryRun } from '../support/replay.js';
import { SecretScanner, stackSecrets } from '../support/secret-scan.js';

test(
  'the demo migration survives SIGKILLs of the worker, both MariaDB servers, Temporal and Redis, and recovers after each',
  { timeout: 600_000 },
  async () => {
    // Only the embedded server can be crashed; against an external Temporal the event is not counted.
    // (read before the run: the demo exports its stack's TEMPORAL_ADDRESS)
    const external = !!process.env.TEMPORAL_ADDRESS;
    const lines: string[] = [];
    const started = Date.now();
    let secrets: { findings: string; workflows: number; searched: SecretScanner['searched'] } | undefined;
    let replay: { runs: number; problems: string[] } | undefined;
    const result = await runDemo({
      rows: 3000,
      rate: 30,
      soakSeconds: 2,
      manual: false,
      chaos: true,
      apps: 2,
      timeoutSeconds: 300,
      // While the stack is still up: no secret in anything Temporal keeps about the run (the server was
      // SIGKILLed and recovered from its state file meanwhile), nor in any log of the run.
      holdBeforeStop: async (stack) => {
        const connection = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS });
        try {
          const scanner = new SecretScanner(stackSecrets(stack));
          const { workflows } = await scanner.temporal(new Client({ connection }));
          const logs = join(stack.dir, 'logs');
          for (const f of readdirSync(logs)) scanner.logFile(join(logs, f), f);
          scanner.logFile(stack.temporal!.logFile!, 'server log');
          secrets = { findings: scanner.report(), workflows, searched: scanner.searched };
          // Every run as the server kept it through the crashes, replayed by a fresh worker.
          replay = await replayEveryRun(new Client({ connection }));
        } finally {
          await connection.close();
        }
      },
      log: (line) => lines.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${line}`),
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- demo log ---\n${lines.join('\n')}`);
    });
    const context = `${result.failures.join('\n')}\n--- demo log ---\n${lines.join('\n')}`;
    const happened = result.chaos.filter((c) => c.happened);
    assert.equal(happened.length, external ? 7 : 8, context);
    assert.equal(happened.filter((c) => c.label.startsWith('worker SIGKILLed')).length, 3, context);
    assert.equal(happened.filter((c) => c.label.startsWith('source MariaDB SIGKILLed')).length, 2, context);
    for (const label of ['source MariaDB SIGKILLed', 'target MariaDB SIGKILLed', 'Redis SIGKILLed'])
      assert.ok(
        happened.some((c) => c.label.startsWith(label)),
        `${label} did not happen\n${context}`,
      );
    if (!external)
      assert.ok(
        happened.some((c) => c.label.startsWith('Temporal server SIGKILLed')),
        context,
      );
    for (const c of happened) assert.ok(c.recovered, `no recovery seen after ${c.label}\n${context}`);
    assert.equal(result.apps, 2);
    assert.equal(result.final?.state, 'COMPLETED', context);
    assert.equal(result.final?.phase, 'DONE', context);
    assert.deepEqual(result.independent.problems, [], context);
    assert.ok(result.independent.ledgerEntries > 100, `the applications kept writing\n${context}`);
    assert.equal(
      result.app.errors,
      result.outageErrors,
      `application errors: ${result.app.lastError}\n${context}`,
    );
    assert.ok(result.router.dualWriteFailures > 0, `the target crash made dual writes fail\n${context}`);
    assert.ok(result.ok, context);
    assert.deepEqual(replay?.problems, [], 'a run a new worker cannot replay');
    assert.ok((replay?.runs ?? 0) >= 2, JSON.stringify(replay));
    assert.equal(secrets?.findings, '', "a secret of the stack in the run's histories or logs");
    assert.ok(
      (secrets?.workflows ?? 0) >= 2 && (secrets?.searched.logLines ?? 0) > 100,
      JSON.stringify(secrets),
    );
  },
);
