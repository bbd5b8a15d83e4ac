import { execFileSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { requireBinaries } from './binaries.js';
import { clientTlsParams, type StackCertificates } from './certs.js';
import { freePort } from './ports.js';
import { STACK_ROOT, type OwnershipFile } from './reaper.js';
import { ServerProcess } from './server-process.js';

export const APP_DATABASE = 'app';
export const MIGRATION_USER = 'migrator';
export const APP_USER = 'app';

/** Server settings every throwaway instance shares: ROW binlog with full images and metadata, GTIDs. */
const SERVER_FLAGS = [
  '--bind-address=127.0.0.1',
  '--skip-name-resolve',
  '--log-bin=mysql-bin',
  '--binlog-format=ROW',
  '--binlog-row-image=FULL',
  '--binlog-row-metadata=FULL',
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
  '--innodb-buffer-pool-size=128M',
  '--innodb-log-file-size=48M',
  '--innodb-flush-log-at-trx-commit=2',
  '--sync-binlog=0',
  '--innodb-use-native-aio=0',
  '--performance-schema=OFF',
  '--max-connections=1000',
  '--max-allowed-packet=256M',
];

function userFlag(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

/**
 * mariadb-install-db takes seconds; a template data directory is made once per machine and server
 * version, then copied for every instance.
 */
async function templateDataDir(installDb: string, mariadbd: string): Promise<string> {
  const version = execFileSync(mariadbd, ['--version'], { encoding: 'utf8' }).replace(/[^A-Za-z0-9.]+/g, '_');
  const dir = join(STACK_ROOT, `template-${version.slice(0, 80)}`);
  const ready = join(dir, '.ready');
  const lock = `${dir}.lock`;
  for (let attempt = 0; !existsSync(ready); attempt++) {
    try {
      mkdirSync(lock);
    } catch {
      const holder = Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      let holderAlive = false;
      try {
        if (holder) process.kill(holder, 0);
        holderAlive = holder > 0;
      } catch {
        holderAlive = false;
      }
      if (!holderAlive && attempt > 20) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      execFileSync(
        installDb,
        [
          '--no-defaults',
          `--datadir=${dir}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--innodb-log-file-size=48M',
          ...userFlag(),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      writeFileSync(ready, '');
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return dir;
}

export interface MariaDbInstanceOptions {
  /** "source" or "target": names the directory and logs. */
  name: string;
  serverId: number;
  /** The stack directory this instance lives in. */
  stackDir: string;
  ownership: OwnershipFile;
  /** TLS required on TCP: every user must present a client certificate signed by the stack's CA. */
  tls?: StackCertificates;
  /** Extra server options. */
  extraArgs?: string[];
}

/** A throwaway MariaDB server on a free loopback port, with its own data directory. */
export class MariaDbInstance {
  readonly name: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly socketPath: string;
  port = 0;
  /** Password of the least-privilege migration user (and of the app user). Generated per stack. */
  readonly password: string;
  private process?: ServerProcess;

  constructor(private readonly opts: MariaDbInstanceOptions) {
    this.name = opts.name;
    this.dir = join(opts.stackDir, opts.name);
    this.dataDir = join(this.dir, 'data');
    this.socketPath = join(this.dir, 'mysqld.sock');
    this.password = `pw_${opts.name}_${Math.random().toString(36).slice(2, 12)}`;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const bins = requireBinaries(['mariadbd', 'mariadb-install-db']);
    const firstStart = !existsSync(this.dataDir);
    if (firstStart) {
      mkdirSync(join(this.dir, 'tmp'), { recursive: true });
      // Asynchronous: a signal arriving meanwhile is handled at once (lifetime.ts).
      await cp(await templateDataDir(bins['mariadb-install-db'], bins.mariadbd), this.dataDir, {
        recursive: true,
      });
      rmSync(join(this.dataDir, '.ready'), { force: true });
    }
    // A restart keeps its port so that clients can reconnect to the same address.
    for (let attempt = 0; ; attempt++) {
      if (!this.port || (firstStart && attempt > 0)) this.port = await freePort();
      try {
        await this.launch(bins.mariadbd);
        break;
      } catch (err) {
        if (attempt >= 3 || !firstStart) throw err;
      }
    }
    if (firstStart) await this.provision();
  }

  private async launch(mariadbd: string): Promise<void> {
    this.process = new ServerProcess(
      `mariadb ${this.name}`,
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${this.dataDir}`,
        `--socket=${this.socketPath}`,
        `--port=${this.port}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--tmpdir=${join(this.dir, 'tmp')}`,
        `--server-id=${this.opts.serverId}`,
        `--log-error=${join(this.dir, 'error.log')}`,
        ...SERVER_FLAGS,
        ...this.tlsFlags(),
        ...(this.opts.extraArgs ?? []),
        ...userFlag(),
      ],
      join(this.dir, 'stdout.log'),
      this.opts.ownership,
    );
    this.process.start();
    let exited = false;
    void this.process.exitPromise().then(() => (exited = true));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited) throw new Error(`mariadb ${this.name} exited during start-up: ${this.errorLogTail()}`);
      try {
        const conn = await mysql.createConnection({ socketPath: this.socketPath, user: 'root' });
        await conn.end();
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          await this.process.stop('SIGKILL');
          throw new Error(
            `mariadb ${this.name} did not accept connections within 60 s: ${(err as Error).message}`,
          );
        }
        await sleep(100);
      }
    }
  }

  private tlsFlags(): string[] {
    const tls = this.opts.tls;
    if (!tls) return [];
    // TCP without TLS is refused; the unix socket (root, fixtures) counts as secure.
    return [
      `--ssl-ca=${tls.ca}`,
      `--ssl-cert=${tls.serverCert}`,
      `--ssl-key=${tls.serverKey}`,
      '--require-secure-transport=ON',
    ];
  }

  private errorLogTail(): string {
    try {
      return readFileSync(join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      return '(no error log)';
    }
  }

  /** Creates the application database and the users the product and the demo app log in as. */
  private async provision(): Promise<void> {
    const conn = await this.rootConnection();
    const require = this.opts.tls ? ' REQUIRE X509' : '';
    try {
      const statements = [
        `CREATE DATABASE IF NOT EXISTS \`${APP_DATABASE}\` CHARACTER SET utf8mb4`,
        ...['127.0.0.1', 'localhost'].flatMap((host) => [
          `CREATE USER IF NOT EXISTS '${MIGRATION_USER}'@'${host}' IDENTIFIED BY '${this.password}'${require}`,
          `GRANT REPLICATION SLAVE, BINLOG MONITOR, SLAVE MONITOR ON *.* TO '${MIGRATION_USER}'@'${host}'`,
          `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, CREATE TEMPORARY TABLES, LOCK TABLES ON \`${APP_DATABASE}\`.* TO '${MIGRATION_USER}'@'${host}'`,
          `CREATE USER IF NOT EXISTS '${APP_USER}'@'${host}' IDENTIFIED BY '${this.password}'${require}`,
          `GRANT SELECT, INSERT, UPDATE, DELETE ON \`${APP_DATABASE}\`.* TO '${APP_USER}'@'${host}'`,
        ]),
      ];
      for (const sql of statements) await conn.query(sql);
    } finally {
      await conn.end();
    }
  }

  /** Administrative connection (root over the unix socket): for fixtures and fault injection only. */
  rootConnection(database?: string): Promise<mysql.Connection> {
    return mysql.createConnection({
      socketPath: this.socketPath,
      user: 'root',
      database,
      multipleStatements: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
    });
  }

  /**
   * Connection URL for a user of this instance, e.g. for MIGRATOR_DB_SOURCE. With TLS it carries the
   * ssl-* parameters the worker reads (src/activities/db/tls.ts); mysql2's own `uri` option does not
   * know them: use clientOptions() for a direct mysql2 connection.
   */
  url(user: string = MIGRATION_USER, database: string = APP_DATABASE): string {
    const base = `mysql://${user}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
    return this.opts.tls ? `${base}?${clientTlsParams(this.opts.tls)}` : base;
  }

  /** mysql2 options for a user of this instance over TCP (TLS with the client certificate when required). */
  clientOptions(user: string = MIGRATION_USER, database: string = APP_DATABASE): mysql.ConnectionOptions {
    const tls = this.opts.tls;
    return {
      host: '127.0.0.1',
      port: this.port,
      user,
      password: this.password,
      database,
      ...(tls
        ? {
            ssl: {
              ca: readFileSync(tls.ca, 'utf8'),
              cert: readFileSync(tls.clientCert, 'utf8'),
              key: readFileSync(tls.clientKey, 'utf8'),
            },
          }
        : {}),
    };
  }

  /**
   * Makes this instance a GTID replica of `primary` and waits until it has caught up. The primary's
   * binlog is replayed from its start (its provisioning statements are idempotent).
   */
  async replicateFrom(primary: MariaDbInstance): Promise<void> {
    const conn = await this.rootConnection();
    try {
      await conn.query(
        'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = slave_pos',
        ['127.0.0.1', primary.port, MIGRATION_USER, primary.password],
      );
      const tls = primary.opts.tls;
      if (tls) {
        await conn.query(
          'CHANGE MASTER TO MASTER_SSL = 1, MASTER_SSL_CA = ?, MASTER_SSL_CERT = ?, MASTER_SSL_KEY = ?, MASTER_SSL_VERIFY_SERVER_CERT = 1',
          [tls.ca, tls.clientCert, tls.clientKey],
        );
      }
      await conn.query('START SLAVE');
    } finally {
      await conn.end();
    }
    await this.waitForReplica(primary);
  }

  /** Waits until this replica has applied everything the primary has written so far. */
  async waitForReplica(primary: MariaDbInstance, timeoutSeconds = 30): Promise<void> {
    const p = await primary.rootConnection();
    const r = await this.rootConnection();
    try {
      const [[pos]] = await p.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS pos');
      const [[res]] = await r.query<mysql.RowDataPacket[]>('SELECT MASTER_GTID_WAIT(?, ?) AS res', [
        String(pos.pos),
        timeoutSeconds,
      ]);
      if (Number(res.res) !== 0) {
        const [status] = await r.query<mysql.RowDataPacket[]>('SHOW SLAVE STATUS');
        const s = status[0] ?? {};
        throw new Error(
          `replica ${this.name} did not catch up with ${primary.name} within ${timeoutSeconds} s: ` +
            `IO ${String(s.Slave_IO_Running)}, SQL ${String(s.Slave_SQL_Running)}, ${String(s.Last_Error ?? s.Last_IO_Error ?? '')}`,
        );
      }
    } finally {
      await Promise.all([p.end(), r.end()]);
    }
  }

  /** Stops the server; SIGKILL simulates a crash. The data directory is kept for a later start(). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    await this.start();
  }
}
