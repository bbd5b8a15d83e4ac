// Small helpers shared by the bench sections: timing, medians, CPU split, formatting.
import { readFileSync } from 'node:fs';

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function timed<T>(fn: () => Promise<T>): Promise<{ secs: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { secs: (performance.now() - t) / 1000, value };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** CPU seconds (user + system) used so far by a process, from /proc (0 when unreadable). */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

/** CPU seconds spent by each named process while fn runs. */
export async function cpuSplit<T>(
  pids: Record<string, number | undefined>,
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, p ? cpuSeconds(p) : 0]));
  const self0 = process.cpuUsage();
  const value = await fn();
  const self = process.cpuUsage(self0);
  const cpu: Record<string, number> = { node: (self.user + self.system) / 1e6 };
  for (const [k, p] of Object.entries(pids)) cpu[k] = p ? cpuSeconds(p) - before[k] : 0;
  return { value, cpu };
}

export function cpuLine(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
    .join(', ');
}
