#!/usr/bin/env node
// Runs every *.test.ts file under the given roots with node's own test runner (through tsx).
// Usage: npm test [-- <file-or-dir> ...]   (default: test/ and the embedded server's packages/devserver/test)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const DEFAULT_ROOTS = ['test', 'packages/devserver/test'];
const files = (roots.length ? roots : DEFAULT_ROOTS).flatMap((r) => collect(resolve(r), []));
if (files.length === 0) {
  console.error('no test files found under', (roots.length ? roots : DEFAULT_ROOTS).join(' '));
  process.exit(1);
}
// Two cores on CI; each file may start its own MariaDB pair, so keep concurrency modest.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    ...passThrough,
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
