import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

/** The outcome of one `migrate ...args` run, in a process or in this one. */
function cliRun(args: string[], code: number | null, stdout: string, stderr: string): CliRun {
  return {
    code,
    stdout,
    stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(
          `stdout of migrate ${args.join(' ')} is not one JSON document:\n${stdout}\nstderr: ${stderr}`,
        );
      }
    },
  };
}

/** A `migrate` process still running (watch, wait). */
export interface RunningCli {
  child: ChildProcess;
  /** stdout so far. */
  stdout(): string;
  done: Promise<CliRun>;
}

/** Runs the real `migrate` process: `node --import tsx src/cli/main.ts ...args`. */
export function migrate(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliRun> {
  return spawnMigrate(args, env, timeoutMs).done;
}

/** Starts the real `migrate` process and returns at once. */
export function spawnMigrate(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, USER: 'tester', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `migrate ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(cliRun(args, code, stdout, stderr));
    });
  });
  return { child, stdout: () => stdout, done };
}

/** A message for assertion failures: the whole run. */
export function show(run: CliRun): string {
  return `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`;
}

/** Runs the program in this process (same code path as the binary, streams captured). */
export async function migrateInProcess(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { run } = await import('../../src/cli/program.js');
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    ({
      write: (chunk: string | Uint8Array) => (append(String(chunk)), true),
    }) as unknown as NodeJS.WritableStream;
  const code = await run(args, {
    streams: { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) },
    env: { ...process.env, USER: 'tester', ...env },
    onInterrupt: () => () => undefined,
  });
  return cliRun(args, code, stdout, stderr);
}
