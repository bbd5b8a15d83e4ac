// The local stack stops cleanly however it is stopped: a signal to any process of the `npm run stack`
// (or `npm run demo`) chain, Ctrl-C to the whole terminal group, the death of a launcher in the middle,
// or a wedged owner whose launcher died (the next start's reaper). Each case starts the real command,
// stops it one way, and then finds no process and no directory left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startStack } from '../scripts/localstack/index.js';
import { isRunning, type ProcessRef } from '../scripts/localstack/proc.js';
import { STACK_ROOT } from '../scripts/localstack/reaper.js';

const ROOT = new URL('..', import.meta.url).pathname;

interface Launched {
  npm: ChildProcess;
  dir: string;
  /** The stack's owner first (node), then sh, npm. */
  chain: ProcessRef[];
  /** Servers (and the demo's worker) the stack started. */
  children: ProcessRef[];
  output: () => string;
}

function ownership(dir: string): { chain: ProcessRef[]; children: ProcessRef[] } | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as {
      chain: ProcessRef[];
      children: ProcessRef[];
    };
  } catch {
    return undefined;
  }
}

/** Starts `npm run <script>` in its own process group (as a terminal would) and waits for `ready`. */
async function launch(script: string, args: string[], ready: RegExp, minChildren: number): Promise<Launched> {
  const npm = spawn('npm', ['run', script, '--', ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TEMPORAL_ADDRESS: '', FORCE_COLOR: '0' },
  });
  let out = '';
  npm.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  npm.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 180_000;
  for (;;) {
    assert.ok(Date.now() < deadline, `npm run ${script} did not get ready: ${out}`);
    assert.equal(npm.exitCode, null, `npm run ${script} exited early: ${out}`);
    if (ready.test(out)) {
      for (const name of readdirSync(STACK_ROOT)) {
        const dir = join(STACK_ROOT, name);
        const own = ownership(dir);
        if (own?.chain?.some((p) => p.pid === npm.pid) && (own.children?.length ?? 0) >= minChildren) {
          return { npm, dir, chain: own.chain, children: own.children, output: () => out };
        }
      }
    }
    await sleep(25);
  }
}

/** Every process of the launch (chain and servers) gone, and the stack directory removed. */
async function assertAllGone(l: Launched, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const alive = [...l.chain, ...l.children].filter(isRunning);
    const dirLeft = existsSync(l.dir);
    if (alive.length === 0 && !dirLeft) return;
    if (Date.now() > deadline) {
      for (const p of alive) process.kill(p.pid, 'SIGKILL');
      assert.fail(
        `left behind: processes ${alive.map((p) => p.pid).join(', ') || 'none'}, directory ${dirLeft ? l.dir : 'removed'}\n${l.output()}`,
      );
    }
    await sleep(100);
  }
}

const STACK_READY = /stack directory: /;
const stackArgs = ['--no-temporal'];

test('SIGTERM to `npm run stack` (kill $! after npm run stack &) stops everything', async () => {
  const l = await launch('stack', stackArgs, STACK_READY, 3);
  assert.equal(l.chain[l.chain.length - 1].pid, l.npm.pid, 'the chain reaches npm');
  process.kill(l.npm.pid!, 'SIGTERM');
  await assertAllGone(l, 40_000);
});

test('Ctrl-C (SIGINT to the whole process group) stops everything', async () => {
  const l = await launch('stack', [], STACK_READY, 3);
  process.kill(-l.npm.pid!, 'SIGINT');
  await assertAllGone(l, 40_000);
});

test('Ctrl-C during start-up (servers being started) stops everything', async () => {
  // Ready as soon as the first server process exists.
  const l = await launch('stack', stackArgs, /stack$/m, 1);
  process.kill(-l.npm.pid!, 'SIGINT');
  // Servers started after the snapshot above are not in l.children: they must be gone too.
  await assertAllGone(l, 40_000);
});

test('SIGHUP to the stack process stops everything', async () => {
  const l = await launch('stack', stackArgs, STACK_READY, 3);
  process.kill(l.chain[0].pid, 'SIGHUP');
  await assertAllGone(l, 40_000);
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`${signal} to a launcher in the middle of the chain (sh) stops everything`, async () => {
    const l = await launch('stack', stackArgs, STACK_READY, 3);
    const middle = l.chain.slice(1, -1);
    assert.ok(middle.length > 0, `chain ${JSON.stringify(l.chain)} has a process between node and npm`);
    process.kill(middle[0].pid, signal);
    await assertAllGone(l, 40_000);
  });
}

test('a wedged stack whose launcher died is reaped by the next start (owner chain), servers and directory', async () => {
  const l = await launch('stack', stackArgs, STACK_READY, 3);
  // The stack process can neither handle signals nor watch its chain: only the reaper can clean up.
  process.kill(l.chain[0].pid, 'SIGSTOP');
  process.kill(l.npm.pid!, 'SIGKILL');
  await sleep(1000);
  assert.ok(l.children.every(isRunning), 'the servers still run while their owner is stopped');
  const next = await startStack({ mariadb: false, redis: false, stopOnTermination: false });
  try {
    await assertAllGone({ ...l, chain: l.chain.filter((p) => p.pid !== l.npm.pid) }, 20_000);
  } finally {
    await next.stop();
  }
});

test('SIGTERM to `npm run demo` mid-migration stops the worker, every server and removes the directory', async () => {
  // 4 children: two MariaDB servers, Redis, and the worker process.
  const l = await launch('demo', ['--rows', '2000'], /migration started/, 4);
  process.kill(l.npm.pid!, 'SIGTERM');
  await assertAllGone(l, 60_000);
});
