// The commit of a dual write, alone: the router's statements sent with bare mysql2 connections (no
// router code), the mirror's COMMIT after the authoritative one's answer versus the two sent together
// (src/router/README.md "Cost of a dual write"), next to a bare autocommit UPDATE, in alternating
// rounds. On servers that flush at every commit it shows what overlapping the two flushes saves; on
// either kind of server, the ratio a dual write cannot go below whatever the router does (the floor
// printed next to the router's targets).
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';

const ROWS = 100;
const OPS = 100;
const ROUNDS = 4;

/** The floor of the router's dual write: its statements without the router, per bare write. */
export interface CommitOrderFigures {
  bareUs: number;
  /** The two COMMITs together (the router's protocol). */
  togetherUs: number;
}

export async function commitOrder(stack: Stack): Promise<CommitOrderFigures> {
  const mk = (side: 'source' | 'target') =>
    mysql.createPool({ uri: stack[side].url('app'), connectionLimit: 2, multipleStatements: true });
  const source = mk('source');
  const target = mk('target');
  for (const side of [stack.source, stack.target]) {
    const admin = await side.rootConnection('app');
    await admin.query('CREATE TABLE commit_order (id INT PRIMARY KEY, qty INT NOT NULL, note CHAR(100))');
    await admin.query(`INSERT INTO commit_order SELECT seq, 0, 'x' FROM seq_1_to_${ROWS}`);
    await admin.end();
  }
  let n = 0;
  const bare = async () => {
    await source.query('UPDATE commit_order SET qty = qty + 1 WHERE id = ?', [(n++ % ROWS) + 1]);
  };
  const dual = (together: boolean) => async () => {
    const id = (n++ % ROWS) + 1;
    const [s, t] = await Promise.all([source.getConnection(), target.getConnection()]);
    try {
      const [results] = (await s.query(
        'START TRANSACTION;UPDATE commit_order SET qty = qty + 1 WHERE id = ?;SELECT * FROM commit_order WHERE id = ?',
        [id, id],
      )) as unknown as [mysql.RowDataPacket[][]];
      const row = results[2][0];
      const mirror = 'REPLACE INTO commit_order (id, qty, note) VALUES (?, ?, ?)';
      const values = [row.id, row.qty, row.note] as unknown[];
      if (together) {
        await t.query(`START TRANSACTION;${mirror}`, values);
        await Promise.all([s.query('COMMIT'), t.query('COMMIT')]);
      } else {
        await t.query(mirror, values);
        await s.query('COMMIT');
      }
    } finally {
      s.release();
      t.release();
    }
  };
  const kinds: [string, () => Promise<void>][] = [
    ['bare UPDATE', bare],
    ['mirror committed, then the authoritative COMMIT', dual(false)],
    ['the two COMMITs together', dual(true)],
  ];
  const us = kinds.map(() => 0);
  for (const [, f] of kinds) for (let i = 0; i < 20; i++) await f();
  for (let round = 0; round < ROUNDS; round++)
    for (let k = 0; k < kinds.length; k++) {
      const t0 = performance.now();
      for (let i = 0; i < OPS; i++) await kinds[k][1]();
      us[k] += ((performance.now() - t0) / OPS) * 1000;
    }
  console.log(
    `a dual write's statements without the router (bare mysql2, ${ROUNDS} x ${OPS} each): ` +
      kinds
        .map(
          ([name], k) =>
            `${name} ${(us[k] / ROUNDS).toFixed(0)} us${k ? ` (x${(us[k] / us[0]).toFixed(2)})` : ''}`,
        )
        .join(', '),
  );
  await Promise.all([source.end(), target.end()]);
  return { bareUs: us[0] / ROUNDS, togetherUs: us[2] / ROUNDS };
}
