// The floor of a dual write: the statements the router sent for one dual UPDATE by PK (recorded at its
// pools, texts as the router formatted them) replayed on bare mysql2 connections, no router code, next
// to a bare autocommit UPDATE of the same row, in alternating rounds. Two orders: the two COMMITs sent
// together (the router's protocol, src/router/README.md "Cost of a dual write") and the mirror committed
// before the authoritative COMMIT. On servers that flush at every commit it shows what overlapping the
// two flushes saves; on either kind of server, the ratio a dual write cannot go below whatever the
// router does (printed next to the router's targets).
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';
import type { Stack } from '../../scripts/localstack/index.js';

const OPS = 100;
const ROUNDS = 4;

/** One dual UPDATE's statements as each side received them: the batch or mirror, then COMMIT. */
export interface RecordedDualWrite {
  source: string[];
  target: string[];
}

export interface CommitOrderFigures {
  bareUs: number;
  /** The two COMMITs together (the router's protocol). */
  togetherUs: number;
}

export async function commitOrder(stack: Stack, recorded: RecordedDualWrite): Promise<CommitOrderFigures> {
  const [batch, authCommit] = recorded.source;
  const [mirror, mirrorCommit] = recorded.target;
  if (
    recorded.source.length !== 2 ||
    recorded.target.length !== 2 ||
    !/COMMIT/i.test(authCommit + mirrorCommit)
  )
    throw new Error(`unexpected dual write statements: ${JSON.stringify(recorded)}`);
  const mk = (side: 'source' | 'target') =>
    mysql.createConnection({ uri: stack[side].url('app'), multipleStatements: true });
  const [source, target] = await Promise.all([mk('source'), mk('target')]);
  const bare = async () => {
    await source.query('UPDATE items SET qty = qty + 1 WHERE id = 1');
  };
  const dual = (together: boolean) => async () => {
    await source.query(batch);
    if (together) {
      await target.query(mirror);
      await Promise.all([source.query(authCommit), target.query(mirrorCommit)]);
    } else {
      await target.query(`${mirror};${mirrorCommit}`);
      await source.query(authCommit);
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
    `the router's statements of a dual UPDATE replayed without the router (bare mysql2, ${ROUNDS} x ${OPS} each): ` +
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
