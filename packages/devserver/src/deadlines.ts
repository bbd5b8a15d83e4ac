/**
 * Named one-shot timers at absolute times (re-armed from state after a restart). Keys look like
 * `<group>|<rest>`; timers are indexed by group so clearing one execution's timers stays cheap.
 */
const MAX_DELAY = 2 ** 31 - 1;

const groupOf = (key: string) => {
  const i = key.indexOf('|');
  return i < 0 ? key : key.slice(0, i);
};

export class Deadlines {
  private readonly groups = new Map<string, Map<string, NodeJS.Timeout>>();

  set(key: string, atMs: number, fn: () => void): void {
    this.clear(key);
    const delay = Math.max(0, atMs - Date.now());
    const group = groupOf(key);
    let timers = this.groups.get(group);
    if (!timers) {
      timers = new Map();
      this.groups.set(group, timers);
    }
    const t = setTimeout(
      () => {
        this.delete(key);
        if (Date.now() < atMs - 5) this.set(key, atMs, fn);
        else fn();
      },
      Math.min(delay, MAX_DELAY),
    );
    timers.set(key, t);
  }

  private delete(key: string): NodeJS.Timeout | undefined {
    const group = groupOf(key);
    const timers = this.groups.get(group);
    const t = timers?.get(key);
    if (timers && t) {
      timers.delete(key);
      if (timers.size === 0) this.groups.delete(group);
    }
    return t;
  }

  clear(key: string): void {
    const t = this.delete(key);
    if (t) clearTimeout(t);
  }

  clearPrefix(prefix: string): void {
    const group = groupOf(prefix);
    const timers = this.groups.get(group);
    if (!timers) return;
    for (const [k, t] of timers) {
      if (k.startsWith(prefix)) {
        clearTimeout(t);
        timers.delete(k);
      }
    }
    if (timers.size === 0) this.groups.delete(group);
  }

  clearAll(): void {
    for (const timers of this.groups.values()) for (const t of timers.values()) clearTimeout(t);
    this.groups.clear();
  }
}
