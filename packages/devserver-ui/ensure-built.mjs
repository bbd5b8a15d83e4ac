// Builds the UI shell into ./build when it is missing or its inputs changed (node built-ins only: it runs
// before this package's own dependencies are installed). Usable as a module (ensureUiBuilt) or a command:
//   node packages/devserver-ui/ensure-built.mjs [--quiet]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const uiPackageDir = fileURLToPath(new URL('.', import.meta.url));
/** The directory the embedded server serves at / of its UI port. */
export const uiBuildDir = join(uiPackageDir, 'build');

const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'svelte.config.js',
  'vite.config.js',
  'tailwind.config.js',
  'postcss.config.js',
];
const BUILD_STAMP = join(uiBuildDir, '.inputs-sha256');
const INSTALL_STAMP = join(uiPackageDir, 'node_modules', '.lock-sha256');

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  );
}

function sha256(files) {
  const h = createHash('sha256');
  for (const f of files)
    h.update(relative(uiPackageDir, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

const readStamp = (path) => (existsSync(path) ? readFileSync(path, 'utf8').trim() : '');

/** Hash of everything the build reads from this package (sources, configs, the lock file). */
export function uiInputsHash() {
  const files = [...INPUT_FILES.map((f) => join(uiPackageDir, f)), ...listFiles(join(uiPackageDir, 'src'))];
  return sha256(files.sort());
}

/** True when build/ holds a build of the current inputs. */
export function uiBuildIsCurrent() {
  return existsSync(join(uiBuildDir, 'index.html')) && readStamp(BUILD_STAMP) === uiInputsHash();
}

function run(cmd, args, quiet) {
  const r = spawnSync(cmd, args, { cwd: uiPackageDir, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (r.status !== 0 && quiet) process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r.status === 0;
}

function installDependencies(quiet) {
  const lockHash = sha256([join(uiPackageDir, 'package-lock.json')]);
  if (readStamp(INSTALL_STAMP) === lockHash && existsSync(join(uiPackageDir, 'node_modules', '.bin', 'vite')))
    return;
  // npm ci rejects a lock that lacks optional platform packages the registry here does not carry; then
  // install exactly what the lock pins without rewriting it (as .ci/run does for the root).
  if (!run('npm', ['ci', '--no-audit', '--no-fund'], quiet)) {
    if (!run('npm', ['install', '--no-audit', '--no-fund', '--no-save'], quiet)) {
      throw new Error(`npm install failed in ${uiPackageDir}`);
    }
  }
  writeFileSync(INSTALL_STAMP, `${lockHash}\n`);
}

/**
 * Installs this package's dependencies and runs the Vite build unless build/ is current.
 * @param {{ quiet?: boolean, log?: (line: string) => void }} [options]
 * @returns {{ built: boolean, dir: string, seconds: number }}
 */
export function ensureUiBuilt(options = {}) {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  if (uiBuildIsCurrent()) return { built: false, dir: uiBuildDir, seconds: 0 };
  const started = Date.now();
  log(
    'building the Temporal Web UI (packages/devserver-ui: npm install + vite build, about 1-2 minutes once)...',
  );
  installDependencies(options.quiet ?? false);
  if (!run('npm', ['run', 'build'], options.quiet ?? false))
    throw new Error(`UI build failed in ${uiPackageDir}`);
  writeFileSync(BUILD_STAMP, `${uiInputsHash()}\n`);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  log(`Temporal Web UI built in ${seconds}s (${uiBuildDir})`);
  return { built: true, dir: uiBuildDir, seconds };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quiet = process.argv.includes('--quiet');
  const r = ensureUiBuilt({ quiet });
  if (!r.built) process.stderr.write(`Temporal Web UI is up to date (${r.dir})\n`);
}
