// Peer tools the benchmarks measure against, run in the same run on the same data. Installed from
// Debian's packages when missing (as root), like the stack's own servers.
import { execFileSync, spawn } from 'node:child_process';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure `cmd` is on PATH, installing Debian package `pkg` with apt-get when it is not. */
export function ensureTool(cmd: string, pkg: string): void {
  if (has(cmd)) return;
  if (process.getuid?.() !== 0) throw new Error(`${cmd} is missing: apt-get install -y ${pkg}`);
  console.log(`installing ${pkg} (apt-get) for ${cmd} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'ignore', env });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'ignore', env });
  }
  if (!has(cmd)) throw new Error(`${cmd} still missing after installing ${pkg}`);
}

/** Runs a command, resolving with its stdout (rejects on an exit code not in opts.ok, with its stderr). */
export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; ok?: number[] } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) =>
      (opts.ok ?? [0]).includes(code ?? -1)
        ? resolve(out)
        : reject(new Error(`${cmd} exited with ${code}: ${err.slice(0, 2000)}`)),
    );
    p.stdin.end(opts.input ?? '');
  });
}

/** `mariadb-dump --single-transaction --quick ... | mariadb`: one table into another database. */
export function dumpPipeline(srcSock: string, srcDb: string, dstSock: string, dstDb: string, table: string) {
  return new Promise<void>((resolve, reject) => {
    const dump = spawn(
      'mariadb-dump',
      ['-S', srcSock, '-uroot', '--single-transaction', '--quick', '--no-create-info', srcDb, table],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const load = spawn('mariadb', ['-S', dstSock, '-uroot', dstDb], {
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    dump.stdout.pipe(load.stdin);
    let pending = 2;
    const done = (code: number | null) => {
      if (code !== 0) reject(new Error(`dump pipeline exited with ${code}`));
      else if (--pending === 0) resolve();
    };
    dump.on('exit', done);
    load.on('exit', done);
  });
}
