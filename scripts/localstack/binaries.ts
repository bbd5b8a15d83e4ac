import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(SEARCH_DIRS)) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

let installAttempted = false;

/**
 * Returns absolute paths of the binaries, installing the Debian packages that carry them when they are
 * missing and we can (root + apt-get). Otherwise fails with one line saying what to install.
 */
export function requireBinaries(names: string[]): Record<string, string> {
  let missing = names.filter((n) => !findBinary(n));
  if (missing.length && !installAttempted && process.getuid?.() === 0 && findBinary('apt-get')) {
    installAttempted = true;
    process.stderr.write(
      `[stack] installing mariadb-server redis-server openssl (missing: ${missing.join(', ')})\n`,
    );
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
    execFileSync(
      'apt-get',
      [
        'install',
        '-y',
        '--no-install-recommends',
        'mariadb-server',
        'mariadb-client',
        'redis-server',
        'openssl',
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env,
      },
    );
    missing = names.filter((n) => !findBinary(n));
  }
  if (missing.length) {
    throw new Error(
      `missing ${missing.join(', ')}: install them with "apt-get install -y mariadb-server mariadb-client redis-server openssl"`,
    );
  }
  return Object.fromEntries(names.map((n) => [n, findBinary(n) as string]));
}
