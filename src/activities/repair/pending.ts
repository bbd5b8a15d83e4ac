import type { BinlogPosition, EncodedKey } from '../contracts.js';
import { keyId } from '../verify/keys.js';

interface Entry {
  table: string;
  key: EncodedKey;
  due: number;
  /** Binlog position before the transaction that scheduled this key (resume point while it is pending). */
  before?: BinlogPosition;
}

/**
 * Keys waiting for their delayed compare, FIFO (due times grow with arrival), de-duplicated per table and
 * exact key: a key changed again while waiting keeps its first slot.
 */
export class PendingKeys {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  add(table: string, key: EncodedKey, due: number, before?: BinlogPosition): void {
    const id = `${table}\u0000${keyId(key)}`;
    if (!this.entries.has(id)) this.entries.set(id, { table, key, due, before });
  }

  /** Removes and returns the due entries, grouped by table (at most `max`). */
  takeDue(now: number, max = 1000): Map<string, EncodedKey[]> {
    const out = new Map<string, EncodedKey[]>();
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.due > now || n >= max) break;
      this.entries.delete(id);
      const list = out.get(e.table) ?? [];
      list.push(e.key);
      out.set(e.table, list);
      n++;
    }
    return out;
  }

  /** Resume point: before the oldest pending key's transaction, when one is pending. */
  oldestBefore(): BinlogPosition | undefined {
    for (const e of this.entries.values()) return e.before;
    return undefined;
  }

  nextDue(): number | undefined {
    for (const e of this.entries.values()) return e.due;
    return undefined;
  }
}
