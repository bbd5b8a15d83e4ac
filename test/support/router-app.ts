/**
 * An application process writing through the real router (test/handover): N concurrent loops of
 * inserts with auto-increment ids, increments of hot rows and deletes of its own rows. Every
 * acknowledged write goes to a ledger, sent to the parent over IPC when it says 'stop'.
 * Configuration (JSON in ROUTER_APP): migrationId, routerId, source, target, redis, loops, hotRows.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type ResultSetHeader } from 'mysql2/promise';
import { createRouter } from '../../src/router/index.js';

export interface RouterAppConfig {
  migrationId: string;
  routerId: string;
  source: string;
  target: string;
  redis: string;
  loops: number;
  hotRows: number;
  /** Router lease (default: the router's own). */
  leaseMs?: number;
}

export interface Ledger {
  routerId: string;
  inserted: { id: number; payload: string }[];
  deleted: number[];
  increments: Record<string, number>;
  errors: string[];
  /** Epoch ms of the last acknowledged write. */
  lastAckAt: number;
}

const cfg = JSON.parse(process.env.ROUTER_APP ?? '{}') as RouterAppConfig;
const poolOpts = { connectionLimit: cfg.loops + 4, connectTimeout: 5000 };
const router = createRouter({
  migrationId: cfg.migrationId,
  routerId: cfg.routerId,
  source: mysql.createPool({ uri: cfg.source, ...poolOpts }),
  target: mysql.createPool({ uri: cfg.target, ...poolOpts }),
  redis: cfg.redis,
  tables: { events: { key: ['id'] }, accounts: { key: ['id'] } },
  heartbeatMs: 200,
  ...(cfg.leaseMs !== undefined ? { leaseMs: cfg.leaseMs } : {}),
});
const ledger: Ledger = {
  routerId: cfg.routerId,
  inserted: [],
  deleted: [],
  increments: {},
  errors: [],
  lastAckAt: 0,
};
let running = true;
let seq = 0;

async function loop(n: number): Promise<void> {
  const mine: number[] = [];
  for (let i = 0; running; i++) {
    const pick = i % 5;
    let did = false;
    try {
      if (pick <= 2) {
        const payload = `${cfg.routerId}:${n}:${seq++}`;
        const [r] = await router.query<ResultSetHeader>('INSERT INTO events (payload) VALUES (?)', [payload]);
        ledger.inserted.push({ id: r.insertId, payload });
        mine.push(r.insertId);
      } else if (pick === 3) {
        const id = 1 + ((i * 7 + n) % cfg.hotRows);
        await router.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [id]);
        ledger.increments[id] = (ledger.increments[id] ?? 0) + 1;
      } else if (mine.length > 3) {
        const id = mine.splice(Math.floor(mine.length / 2), 1)[0];
        await router.query('DELETE FROM events WHERE id = ?', [id]);
        ledger.deleted.push(id);
        did = true;
      }
      if (pick <= 3 || did) ledger.lastAckAt = Date.now();
    } catch (err) {
      ledger.errors.push((err as Error).message);
      await sleep(10);
    }
  }
}

while (!router.stats().switchesLoaded) await sleep(20);
const loops = Array.from({ length: cfg.loops }, (_, n) => loop(n));
process.on('message', (m) => {
  if (m !== 'stop') return;
  running = false;
  void (async () => {
    await Promise.all(loops);
    await router.end();
    process.send?.({ ledger, stats: router.stats() }, undefined, {}, () => process.exit(0));
  })();
});
process.send?.('ready');
