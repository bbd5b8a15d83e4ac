/** Application processes writing through the real router (test/support/router-app.ts). */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Stack } from '../../scripts/localstack/index.js';
import type { Ledger, RouterAppConfig } from '../support/router-app.js';

const APP = fileURLToPath(new URL('../support/router-app.ts', import.meta.url));

export function startApp(
  stack: Stack,
  migrationId: string,
  routerId: string,
  redis: string,
  hotRows: number,
  extra: Partial<RouterAppConfig> = {},
): { child: ChildProcess; ready: Promise<void> } {
  const cfg: RouterAppConfig = {
    migrationId,
    routerId,
    source: stack.source.url('app'),
    target: stack.target.url('app'),
    redis,
    loops: 4,
    hotRows,
    ...extra,
  };
  const child = fork(APP, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ROUTER_APP: JSON.stringify(cfg) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`router app ${routerId} exited with ${code}`)));
  });
  return { child, ready };
}

/** Stops the app's loops (every running write finishes) and returns its ledger of acknowledged writes. */
export function stopApp(child: ChildProcess): Promise<{ ledger: Ledger }> {
  return new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (typeof m === 'object' && m !== null && 'ledger' in m) resolve(m as { ledger: Ledger });
    });
    child.once('exit', (code) => code !== 0 && reject(new Error(`router app exited with ${code}`)));
    child.send('stop');
  });
}

/** Sum of every app's acknowledged increments of one account. */
export function increments(ledgers: Ledger[], id: number): number {
  return ledgers.reduce((n, l) => n + (l.increments[id] ?? 0), 0);
}
