import type { FieldPacket, PoolConnection, QueryResult, ResultSetHeader } from 'mysql2/promise';
import {
  authoritativeSide,
  isDual,
  otherSide as other,
  type Side,
  type Switches,
} from '../shared/switches.js';
import { commitTogether } from './apply.js';
import { normaliseCall, type NormalisedCall, type RouterQueryOptions } from './args.js';
import type { Method, Queryable, QueryReturn } from './db.js';
import { captureWrite, type MirrorOp } from './mirror.js';
import type { Router } from './router.js';
import { isWrite } from './sql/analysis.js';

interface OpenTransaction {
  switches: Switches;
  side: Side;
  conn: PoolConnection;
  /** What the other side must replay after COMMIT (dual-write modes only). */
  ops: MirrorOp[];
}

type QueryArgs = [first: string | RouterQueryOptions, second?: unknown];

/**
 * A connection-like object from router.getConnection(). Outside a transaction each statement is
 * routed like router.query() (session state is not kept across statements). A transaction runs on
 * one connection of the authoritative side of the write mode in force at BEGIN; in dual-write modes
 * its writes are captured (row images, deleted keys) and replayed on the other side, in one
 * transaction, right before the COMMIT (row locks still held); ROLLBACK replays nothing.
 */
export class RouterConnection {
  private tx?: OpenTransaction;
  private released = false;

  constructor(private readonly router: Router) {}

  get inTransaction(): boolean {
    return this.tx !== undefined;
  }

  query<T extends QueryResult = QueryResult>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.run('query', normaliseCall(...args)) as Promise<[T, FieldPacket[]]>;
  }

  execute<T extends QueryResult = QueryResult>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.run('execute', normaliseCall(...args)) as Promise<[T, FieldPacket[]]>;
  }

  async beginTransaction(): Promise<void> {
    if (this.tx) throw new Error('a transaction is already open on this connection');
    const switches = await this.router.follower.beginWrite();
    const side = authoritativeSide(switches.writeMode);
    try {
      const conn = await this.router.pools[side].getConnection();
      try {
        await conn.beginTransaction();
      } catch (err) {
        conn.release();
        throw err;
      }
      this.tx = { switches, side, conn, ops: [] };
      this.router.countTransaction();
    } catch (err) {
      this.router.follower.endWrite(switches);
      throw err;
    }
  }

  async commit(): Promise<void> {
    const tx = this.tx;
    if (!tx) return;
    this.tx = undefined;
    // The mirror goes first, while the transaction still holds its row locks, and commits together
    // with it (see Router.write).
    const dual = isDual(tx.switches.writeMode) && tx.ops.length > 0;
    try {
      const commitMirror = dual ? await this.router.mirror(tx.ops, other(tx.side), tx.switches) : undefined;
      await commitTogether(tx.conn.commit(), commitMirror?.());
      tx.conn.release();
    } catch (err) {
      tx.conn.destroy();
      if (dual) this.router.commitFailed(tx.ops, other(tx.side), tx.switches, err);
      throw err;
    } finally {
      this.router.follower.endWrite(tx.switches);
    }
  }

  async rollback(): Promise<void> {
    const tx = this.tx;
    if (!tx) return;
    this.tx = undefined;
    try {
      await tx.conn.rollback();
      tx.conn.release();
    } catch (err) {
      tx.conn.destroy();
      throw err;
    } finally {
      this.router.follower.endWrite(tx.switches);
    }
  }

  /** Returns the connection; an open transaction is rolled back. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.tx) void this.rollback().catch(() => undefined);
  }

  destroy(): void {
    const tx = this.tx;
    this.tx = undefined;
    this.released = true;
    if (tx) {
      tx.conn.destroy();
      this.router.follower.endWrite(tx.switches);
    }
  }

  private async run(method: Method, call: NormalisedCall): Promise<QueryReturn> {
    if (this.released) throw new Error('connection already released');
    let a = this.router.analyse(call);
    if (a.kind === 'transaction') {
      if (a.action === 'begin') await this.beginTransaction();
      else if (a.action === 'commit') await this.commit();
      else await this.rollback();
      const header = {
        fieldCount: 0,
        affectedRows: 0,
        insertId: 0,
        info: '',
        serverStatus: 0,
        warningStatus: 0,
        changedRows: 0,
      };
      return [header as ResultSetHeader, []];
    }
    const tx = this.tx;
    if (!tx) {
      const options = { ...call.options, routingKey: call.routingKey };
      return method === 'query' ? this.router.query(options) : this.router.execute(options);
    }
    const db = tx.conn as unknown as Queryable;
    this.router.checkMirrorable(call, a, tx.switches);
    if (a.kind === 'unparsed') this.router.unparsed(call.options.sql);
    // Inside a transaction every statement runs on its side: on the target, rewritten for a mapped table
    // or refused (a read cannot leave the transaction for the source).
    const sc = await this.router.onSide(call, a, tx.side, tx.switches, a.kind === 'read', false);
    if (!sc) throw new Error('unreachable: onSide answers every non-read');
    const migrated = this.router.isMigrated(a, call.options.sql);
    call = sc.call;
    a = sc.analysis;
    if (!isWrite(a) || !isDual(tx.switches.writeMode) || !migrated) {
      const result = await db[method](call.options);
      if (Array.isArray(result[0])) this.router.countRead(tx.side);
      else this.router.countWrite(tx.side);
      return result;
    }
    const { result, op } = await captureWrite(
      this.router.captureContext(db, tx.side, true),
      a,
      call.values,
      () => db[method](call.options),
    );
    tx.ops.push(op);
    this.router.countWrite(tx.side);
    return result;
  }
}
