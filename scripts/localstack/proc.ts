import { readFileSync } from 'node:fs';

/**
 * A process identity that survives pid reuse: the pid plus its start time (clock ticks since boot,
 * /proc/<pid>/stat field 22). Where /proc is absent (not Linux) the start time is 0 and only the pid
 * is compared.
 */
export interface ProcessRef {
  pid: number;
  start: number;
}

interface Stat {
  ppid: number;
  sid: number;
  start: number;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field N is fields[N - 3].
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, not yet reaped
  return { ppid: Number(fields[1]), sid: Number(fields[3]), start: Number(fields[19]) };
}

function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function processRef(pid: number): ProcessRef {
  return { pid, start: stat(pid)?.start ?? 0 };
}

/** True while the very process `ref` names runs (a new process that reused its pid does not count). */
export function isRunning(ref: ProcessRef): boolean {
  const s = stat(ref.pid);
  if (s) return ref.start === 0 || s.start === ref.start;
  // No /proc entry: gone on Linux; elsewhere ask the kernel.
  return !hasProc() && signalable(ref.pid);
}

let procChecked: boolean | undefined;
function hasProc(): boolean {
  if (procChecked === undefined) procChecked = stat(process.pid) !== undefined;
  return procChecked;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** npm sets its process title to `npm <command> ...` (npm run, npm test, npm exec / npx). */
function isNpm(pid: number): boolean {
  const cmd = commandLine(pid);
  return /^npm( |$)/.test(cmd) || /\bnpm-cli\.js\b/.test(cmd);
}

/**
 * The chain that runs this process: itself, its parent, and further ancestors up to the nearest `npm`
 * process (`npm run stack`: node <- sh <- npm), nearest first. Without an npm ancestor the chain
 * is this process and its parent. The chain stops at pid 1 and at another session. Without /proc it is
 * this process and its parent.
 */
export function ownerChain(): ProcessRef[] {
  const self = stat(process.pid);
  if (!self)
    return [
      { pid: process.pid, start: 0 },
      { pid: process.ppid, start: 0 },
    ];
  const chain: ProcessRef[] = [{ pid: process.pid, start: self.start }];
  let pid = self.ppid;
  for (let depth = 0; pid > 1 && depth < 16; depth++) {
    const s = stat(pid);
    if (!s || s.sid !== self.sid) break;
    chain.push({ pid, start: s.start });
    if (isNpm(pid)) return chain;
    pid = s.ppid;
  }
  return chain.slice(0, 2);
}

/** The first process of the chain that no longer runs, if any. */
export function brokenLink(chain: readonly ProcessRef[]): ProcessRef | undefined {
  return chain.find((p) => !isRunning(p));
}
