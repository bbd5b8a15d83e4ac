/** A TCP relay in front of Redis for the hand-over tests: it can delay every chunk, or drop them all. */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class RedisProxy {
  /** While true, bytes are dropped in both directions; connections stay open (a network partition). */
  frozen = false;
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(upstreamPort: number, delayMs: number) {
    this.server = createServer((client) => {
      const upstream = connect(upstreamPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      const relay = (from: Socket, to: Socket) =>
        from.on('data', (d) => {
          if (this.frozen) return;
          if (delayMs > 0) setTimeout(() => to.writable && to.write(d), delayMs);
          else to.write(d);
        });
      relay(client, upstream);
      relay(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
  }

  /** Listens on a free loopback port; chunks are delayed by delayMs in both directions (order kept). */
  static async start(upstreamPort: number, delayMs = 0): Promise<RedisProxy> {
    const p = new RedisProxy(upstreamPort, delayMs);
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    const addr = p.server.address();
    p.port = typeof addr === 'object' && addr ? addr.port : 0;
    return p;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

/** The tables the router apps (test/support/router-app.ts) write. */
export const APP_TABLES = [
  `CREATE TABLE events (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, payload VARCHAR(100) NOT NULL)`,
  `CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, balance INT NOT NULL,
     updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))`,
];
