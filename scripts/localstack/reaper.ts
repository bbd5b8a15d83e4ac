import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** All throwaway instances live below this directory, one sub-directory per stack. */
export const STACK_ROOT = join(tmpdir(), 'migrator-stack');

interface Ownership {
  ownerPid: number;
  childPids: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes stacks whose owning process died without cleaning up (e.g. a test runner that was SIGKILLed):
 * kills the servers they left running and deletes their directories.
 */
export function reapOrphans(): void {
  mkdirSync(STACK_ROOT, { recursive: true });
  for (const name of readdirSync(STACK_ROOT)) {
    if (!name.startsWith('stack-')) continue;
    const dir = join(STACK_ROOT, name);
    let owner: Ownership;
    try {
      owner = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Ownership;
    } catch {
      continue; // being created right now, or not ours
    }
    if (alive(owner.ownerPid)) continue;
    for (const pid of owner.childPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // A killed server may still be writing for a moment; whatever cannot be removed now is retried next time.
    const deadline = Date.now() + 2000;
    while (owner.childPids.some(alive) && Date.now() < deadline)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* next reap */
    }
  }
}

/** Records which server processes a stack directory owns, so a later run can reap them. */
export class OwnershipFile {
  private readonly childPids = new Set<number>();
  constructor(private readonly dir: string) {
    this.write();
  }
  add(pid: number): void {
    this.childPids.add(pid);
    this.write();
  }
  remove(pid: number): void {
    this.childPids.delete(pid);
    this.write();
  }
  private write(): void {
    const data: Ownership = { ownerPid: process.pid, childPids: [...this.childPids] };
    writeFileSync(join(this.dir, 'owner.json'), JSON.stringify(data));
  }
}
