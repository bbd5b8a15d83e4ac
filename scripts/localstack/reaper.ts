import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchedChain } from './lifetime.js';
import { brokenLink, isRunning, processRef, type ProcessRef } from './proc.js';

/** All throwaway instances live below this directory, one sub-directory per stack. */
export const STACK_ROOT = join(tmpdir(), 'migrator-stack');

/** owner.json: who owns a stack directory and which processes it started. */
interface Ownership {
  /** The owning process first, then the chain that started it (see proc.ts ownerChain). */
  chain: ProcessRef[];
  children: ProcessRef[];
}

function readOwnership(dir: string): Ownership | undefined {
  let raw: Partial<Ownership> & { ownerPid?: number; childPids?: number[] };
  try {
    raw = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as typeof raw;
  } catch {
    return undefined; // being created right now, or not ours
  }
  // Files written before the chain was recorded: the owner's pid only.
  const chain = raw.chain ?? (raw.ownerPid ? [{ pid: raw.ownerPid, start: 0 }] : []);
  const children = raw.children ?? (raw.childPids ?? []).map((pid) => ({ pid, start: 0 }));
  return chain.length ? { chain, children } : undefined;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitGone(refs: ProcessRef[], ms: number): boolean {
  const deadline = Date.now() + ms;
  while (refs.some(isRunning)) {
    if (Date.now() > deadline) return false;
    sleepSync(50);
  }
  return true;
}

function kill(ref: ProcessRef, signal: NodeJS.Signals): void {
  if (!isRunning(ref)) return;
  try {
    process.kill(ref.pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Removes orphaned stacks: those whose owning process died, and those whose owner still runs but lost a
 * process of the chain that started it (its launcher was killed: nobody can stop it any more). A live
 * orphaned owner is asked to stop (SIGTERM: it stops its servers and removes its directory) and killed
 * after 10 s; then the servers it left are killed and the directory removed.
 */
export function reapOrphans(): void {
  mkdirSync(STACK_ROOT, { recursive: true });
  for (const name of readdirSync(STACK_ROOT)) {
    if (!name.startsWith('stack-')) continue;
    const dir = join(STACK_ROOT, name);
    const owner = readOwnership(dir);
    if (!owner || !brokenLink(owner.chain)) continue;
    const [ownerRef] = owner.chain;
    if (isRunning(ownerRef)) {
      kill(ownerRef, 'SIGTERM');
      if (!waitGone([ownerRef], 10_000)) kill(ownerRef, 'SIGKILL');
    }
    for (const child of owner.children) kill(child, 'SIGKILL');
    // A killed server may still be writing for a moment; whatever cannot be removed now is retried next time.
    waitGone([ownerRef, ...owner.children], 2000);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* next reap */
    }
  }
}

/** Records which processes a stack directory owns (and who owns it), so a later run can reap them. */
export class OwnershipFile {
  private readonly children = new Map<number, ProcessRef>();
  private readonly chain = watchedChain();
  constructor(private readonly dir: string) {
    this.write();
  }
  add(pid: number): void {
    this.children.set(pid, processRef(pid));
    this.write();
  }
  remove(pid: number): void {
    this.children.delete(pid);
    this.write();
  }
  /** Processes started for this stack that still run. */
  running(): ProcessRef[] {
    return [...this.children.values()].filter(isRunning);
  }
  private write(): void {
    const data: Ownership = { chain: this.chain, children: [...this.children.values()] };
    writeFileSync(join(this.dir, 'owner.json'), JSON.stringify(data));
  }
}
