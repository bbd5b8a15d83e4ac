/** Copy/repair-loop checkpoints kept in Redis (under the migration's `migrator:<id>:` prefix). */
import type { Redis } from 'ioredis';
import type { CheckpointStore } from './context.js';

const TTL_SECONDS = 30 * 24 * 3600;

export class RedisCheckpoints implements CheckpointStore {
  constructor(private readonly redis: () => Redis) {}

  private key(k: string): string {
    return `migrator:${k}`;
  }

  async load<P>(key: string): Promise<P | undefined> {
    const v = await this.redis().get(this.key(key));
    return v ? (JSON.parse(v) as P) : undefined;
  }

  async save<P>(key: string, value: P): Promise<void> {
    await this.redis().set(this.key(key), JSON.stringify(value), 'EX', TTL_SECONDS);
  }

  async clear(prefix: string): Promise<number> {
    const r = this.redis();
    let cursor = '0';
    let n = 0;
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${this.key(prefix)}*`, 'COUNT', 200);
      cursor = next;
      if (keys.length) n += await r.del(...keys);
    } while (cursor !== '0');
    return n;
  }
}
