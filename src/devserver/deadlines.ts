/** Named one-shot timers at absolute times (re-armed from state after a restart). */
const MAX_DELAY = 2 ** 31 - 1;

export class Deadlines {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  set(key: string, atMs: number, fn: () => void): void {
    this.clear(key);
    const delay = Math.max(0, atMs - Date.now());
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        if (Date.now() < atMs - 5) this.set(key, atMs, fn);
        else fn();
      },
      Math.min(delay, MAX_DELAY),
    );
    this.timers.set(key, t);
  }

  clear(key: string): void {
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
      this.timers.delete(key);
    }
  }

  clearPrefix(prefix: string): void {
    for (const [k, t] of this.timers) {
      if (k.startsWith(prefix)) {
        clearTimeout(t);
        this.timers.delete(k);
      }
    }
  }

  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
