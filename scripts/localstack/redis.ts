import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { requireBinaries } from './binaries.js';
import { clientTlsParams, type StackCertificates } from './certs.js';
import { freePort } from './ports.js';
import type { OwnershipFile } from './reaper.js';
import { ServerProcess } from './server-process.js';

/**
 * A throwaway Redis without persistence on a free loopback port; with `tls`, TLS only (no plain port)
 * and client certificates required.
 */
export class RedisInstance {
  readonly dir: string;
  port = 0;
  private process?: ServerProcess;

  constructor(
    stackDir: string,
    private readonly ownership: OwnershipFile,
    private readonly tls?: StackCertificates,
  ) {
    this.dir = join(stackDir, 'redis');
  }

  /** For MIGRATOR_REDIS_URL. With TLS: rediss:// plus the ssl-* parameters only the worker reads. */
  get url(): string {
    return this.tls
      ? `rediss://127.0.0.1:${this.port}?${clientTlsParams(this.tls)}`
      : `redis://127.0.0.1:${this.port}`;
  }

  /** ioredis options for a direct client (TLS with the client certificate when required). */
  clientOptions(): RedisOptions {
    const tls = this.tls;
    return {
      host: '127.0.0.1',
      port: this.port,
      ...(tls
        ? {
            tls: {
              ca: readFileSync(tls.ca, 'utf8'),
              cert: readFileSync(tls.clientCert, 'utf8'),
              key: readFileSync(tls.clientKey, 'utf8'),
            },
          }
        : {}),
    };
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const bins = requireBinaries(['redis-server']);
    mkdirSync(this.dir, { recursive: true });
    if (!this.port) this.port = await freePort();
    this.process = new ServerProcess(
      'redis',
      bins['redis-server'],
      [
        '--bind',
        '127.0.0.1',
        ...(this.tls
          ? [
              '--port',
              '0',
              '--tls-port',
              String(this.port),
              '--tls-cert-file',
              this.tls.serverCert,
              '--tls-key-file',
              this.tls.serverKey,
              '--tls-ca-cert-file',
              this.tls.ca,
              '--tls-auth-clients',
              'yes',
            ]
          : ['--port', String(this.port)]),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      join(this.dir, 'redis.log'),
      this.ownership,
    );
    this.process.start();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const client = new Redis({
        ...this.clientOptions(),
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {}); // refused while the server starts: the loop retries
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (err) {
        if (!this.running || Date.now() > deadline) {
          throw new Error(
            `redis did not start on port ${this.port}: ${(err as Error).message} (log: ${this.dir}/redis.log)`,
          );
        }
        await sleep(50);
      } finally {
        client.disconnect();
      }
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}
