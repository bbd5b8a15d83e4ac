/**
 * SDK test plumbing shared with the root project's tests (exported as `@migrator/devserver/testing`):
 * one quiet worker runtime per process and a workflow bundle cached on disk per content digest.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode, Runtime, DefaultLogger } from '@temporalio/worker';

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger((process.env.TEST_WORKER_LOG as 'WARN' | undefined) ?? 'WARN'),
  });
}

/**
 * Bundles `path` once per content digest: the bundle is kept in a tmp file under `cacheDir` (written
 * atomically), shared between test files and runs.
 */
export async function cachedBundle(
  path: string,
  digest: string,
  cacheDir: string,
): Promise<{ code: string; file: string }> {
  const dir = join(tmpdir(), cacheDir);
  const file = join(dir, `${digest}.js`);
  if (existsSync(file)) return { code: readFileSync(file, 'utf8'), file };
  const { code } = await bundleWorkflowCode({ workflowsPath: path, logger: new DefaultLogger('WARN') });
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, file);
  return { code, file };
}
