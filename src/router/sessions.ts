/**
 * Connections of the application's pool with multi-statement support turned on for the time the
 * router uses them, so a dual write sends `START TRANSACTION; <statement>; <image read>` as one round
 * trip (README "Cost"). The flag is a protocol command (COM_SET_OPTION), not a pool option: the
 * application's pool keeps its own settings and session set-up, and every connection goes back to it
 * with multi-statements off again. mysql2 has no API for the command; it is sent the way mysql2 sends
 * its own PING (a Command on the connection's queue). Anything else than a mysql2 connection (or one
 * with a custom queryFormat) is used as is, without batching.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FieldPacket, PoolConnection, QueryOptions, QueryResult } from 'mysql2/promise';
import type { PoolLike, Queryable, QueryReturn } from './db.js';

/** The parts of mysql2's connection (callback API) this module uses. */
interface CoreConnection {
  addCommand(cmd: unknown): unknown;
  format(sql: string, values: unknown): string;
  query(
    options: QueryOptions,
    cb: (err: Error | null, results: QueryResult, fields: FieldPacket[]) => void,
  ): unknown;
  config: { multipleStatements?: boolean; queryFormat?: unknown; namedPlaceholders?: boolean };
}

interface Mysql2Internals {
  Command: new () => object;
  Packet: new (id: number, buffer: Buffer, start: number, end: number) => object;
}

let internals: Mysql2Internals | null | undefined;

/** mysql2's Command and Packet classes (not exported by the package: loaded by file path). */
function mysql2Internals(): Mysql2Internals | null {
  if (internals !== undefined) return internals;
  try {
    const require = createRequire(import.meta.url);
    const base = dirname(require.resolve('mysql2'));
    internals = {
      Command: require(join(base, 'lib/commands/command.js')) as Mysql2Internals['Command'],
      Packet: require(join(base, 'lib/packets/packet.js')) as Mysql2Internals['Packet'],
    };
  } catch {
    internals = null;
  }
  return internals;
}

const COM_SET_OPTION = 0x1b;
const MULTI_STATEMENTS_ON = 0;
const MULTI_STATEMENTS_OFF = 1;

function setOption(core: CoreConnection, on: boolean): Promise<void> {
  const m = mysql2Internals();
  if (!m) return Promise.reject(new Error('mysql2 internals unavailable'));
  const { Command, Packet } = m;
  return new Promise<void>((resolve, reject) => {
    // Same shape as mysql2's Ping: write the command packet, the next (non-error) packet ends it.
    class SetOption extends Command {
      onResult = (err?: Error) => (err ? reject(err) : resolve());
      start(_packet: unknown, connection: { writePacket(p: object): void }) {
        const payload = [COM_SET_OPTION, on ? MULTI_STATEMENTS_ON : MULTI_STATEMENTS_OFF, 0];
        connection.writePacket(new Packet(0, Buffer.from([0, 0, 0, 0, ...payload]), 0, 4 + payload.length));
        return SetOption.prototype.done;
      }
      done() {
        process.nextTick(() => this.onResult());
        return null;
      }
    }
    core.addCommand(new SetOption());
  });
}

/** mysql2 marks a connection that hit a fatal error or is closing (checked only when present). */
function broken(core: CoreConnection): boolean {
  const c = core as { _fatalError?: unknown; _closing?: boolean };
  return Boolean(c._fatalError) || c._closing === true;
}

/** The mysql2 connection under a promise PoolConnection, when it can be batched on. */
export function batchable(conn: PoolConnection): CoreConnection | undefined {
  const core = (conn as unknown as { connection?: Partial<CoreConnection> }).connection;
  if (
    !core ||
    typeof core.addCommand !== 'function' ||
    typeof core.format !== 'function' ||
    typeof core.query !== 'function'
  )
    return undefined;
  if (!core.config || core.config.queryFormat !== undefined || core.config.namedPlaceholders)
    return undefined;
  if (!core.config.multipleStatements && !mysql2Internals()) return undefined;
  return core as CoreConnection;
}

export interface Session {
  conn: PoolConnection;
  /** Set when multi-statements are on: the connection's own formatter (the pool's timezone etc.). */
  core?: CoreConnection;
}

/**
 * Where the router sends its own statements on a session: with `core`, mysql2's callback API. Its
 * promise wrapper builds an Error (a stack trace) per call for its rejections, a measurable share of a
 * dual write's CPU (4 statements); errors come back as mysql2 made them (code, errno, sqlMessage, sql).
 */
export function sessionDb(s: Session): Queryable {
  const core = s.core;
  if (!core) return s.conn as unknown as Queryable;
  return {
    query: (o) =>
      new Promise<QueryReturn>((resolve, reject) => {
        core.query(o, (err, results, fields) => (err ? reject(err) : resolve([results, fields])));
      }),
    execute: (o) => s.conn.execute(o),
  };
}

/**
 * Hands out pool connections with multi-statements on. A connection stays with the router (on) while
 * dual writes keep arriving: at most `maxIdle` idle ones, each given back (off, then released) once
 * idle for `idleMs`. Back-to-back writes thus skip the extra round trip of turning it on.
 */
export class MultiStatementSessions {
  private readonly idle: { conn: PoolConnection; core: CoreConnection; at: number }[] = [];
  private readonly offs = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly pool: PoolLike,
    private readonly idleMs = 10,
    private readonly maxIdle = 2,
  ) {}

  /** A connection of the pool; with `core` set when multi-statements are on. */
  async acquire(): Promise<Session> {
    for (let kept = this.idle.pop(); kept; kept = this.idle.pop()) {
      if (!broken(kept.core)) return { conn: kept.conn, core: kept.core };
      kept.conn.destroy(); // the server went away while it was kept (the pool drops such connections too)
    }
    const conn = await this.pool.getConnection();
    const core = this.ended ? undefined : batchable(conn);
    if (!core) return { conn };
    if (core.config.multipleStatements) return { conn, core };
    try {
      await setOption(core, true);
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return { conn, core };
  }

  /** Gives a healthy connection back (kept for the next write, or to the pool). */
  release(s: Session): void {
    if (!s.core) {
      s.conn.release();
      return;
    }
    if (!this.ended && this.idle.length < this.maxIdle) {
      this.idle.push({ conn: s.conn, core: s.core, at: performance.now() });
      this.arm();
      return;
    }
    this.giveBack(s.conn, s.core);
  }

  /** Gives every kept connection back to the pool; waits until each has multi-statements off. */
  async end(): Promise<void> {
    this.ended = true;
    clearTimeout(this.timer);
    for (const k of this.idle.splice(0)) this.giveBack(k.conn, k.core);
    await Promise.allSettled([...this.offs]);
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = performance.now();
      for (let i = this.idle.length - 1; i >= 0; i--) {
        const k = this.idle[i];
        if (now - k.at < this.idleMs) continue;
        this.idle.splice(i, 1);
        this.giveBack(k.conn, k.core);
      }
      if (this.idle.length > 0) this.arm();
    }, this.idleMs);
    this.timer.unref();
  }

  /** Multi-statements off, then back to the pool (a connection whose reset failed is dropped). */
  private giveBack(conn: PoolConnection, core: CoreConnection): void {
    if (core.config.multipleStatements) {
      conn.release();
      return;
    }
    const off = setOption(core, false).then(
      () => conn.release(),
      () => conn.destroy(),
    );
    this.offs.add(off);
    void off.finally(() => this.offs.delete(off));
  }
}
