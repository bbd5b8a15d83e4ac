/**
 * How a process that owns local servers ends: on SIGINT, SIGTERM or SIGHUP, or when a process of the
 * chain that started it dies (`npm run stack &` then `kill $!` kills npm and sh, leaving node running
 * with nobody to stop it), every registered cleanup runs once, concurrently, and then the
 * process exits (128 + signal number; 1 when orphaned). Further signals during the cleanup are
 * ignored: a Ctrl-C reaches every process of the terminal's group (npm, for one, relays it once more), and a
 * second SIGINT must not kill the process half-way through removing its directories.
 *
 * Nothing is installed while no cleanup is registered, so the process's own signal handling is unchanged.
 */
import { brokenLink, ownerChain, type ProcessRef } from './proc.js';

export type Cleanup = (reason: string) => Promise<void>;

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type Handled = keyof typeof SIGNALS;

const cleanups = new Set<Cleanup>();
let chain: ProcessRef[] | undefined;
let watcher: NodeJS.Timeout | undefined;
let ending: Promise<void> | undefined;
const listeners = new Map<Handled, () => void>();

/** The chain watched for orphaning (this process first); also what the reaper records. */
export function watchedChain(): ProcessRef[] {
  chain ??= ownerChain();
  return chain;
}

function end(reason: string, exitCode: number): void {
  if (ending) {
    process.stderr.write(`[stack] ${reason}: already stopping, please wait\n`);
    return;
  }
  process.stderr.write(`[stack] ${reason}: stopping every server of this process and removing its data\n`);
  const all = [...cleanups];
  ending = Promise.allSettled(all.map((c) => c(reason))).then((results) => {
    for (const r of results) {
      if (r.status === 'rejected') process.stderr.write(`[stack] cleanup failed: ${String(r.reason)}\n`);
    }
    process.exit(exitCode);
  });
}

function install(): void {
  if (listeners.size) return;
  // Whoever read our output may be gone (the launcher was killed): a write to a closed pipe must not
  // crash the process before its cleanup ran.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  for (const name of Object.keys(SIGNALS) as Handled[]) {
    const listener = () => end(`received ${name}`, 128 + SIGNALS[name]);
    listeners.set(name, listener);
    process.on(name, listener);
  }
  const links = watchedChain().slice(1);
  watcher = setInterval(() => {
    const gone = brokenLink(links);
    if (gone) end(`process ${gone.pid} of the chain that started this one has exited (orphaned)`, 1);
  }, 500);
  watcher.unref();
}

function uninstall(): void {
  for (const [name, listener] of listeners) process.off(name, listener);
  listeners.clear();
  if (watcher) clearInterval(watcher);
  watcher = undefined;
}

/**
 * Registers a cleanup to run when this process is told to stop or is orphaned. Returns the function
 * that unregisters it (call it once the resource is released normally).
 */
export function onTermination(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0 && !ending) uninstall();
  };
}
