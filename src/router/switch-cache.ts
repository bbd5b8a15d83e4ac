import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Switches } from '../shared/switches.js';
import { switchesFromMessage } from '../switches/codec.js';

/**
 * The last switches a router applied, kept in a local file. A router that starts while Redis is down
 * begins with these instead of the fallback: after cutover the fallback (SOURCE_ONLY) would send writes
 * to the old database, which nothing copies forward any more.
 */
export function loadCachedSwitches(file: string): Switches | undefined {
  try {
    return switchesFromMessage(readFileSync(file, 'utf8'));
  } catch {
    return undefined; // no file yet, or unreadable: the fallback applies
  }
}

/** Writes atomically (temp file + rename), so a crash never leaves a torn file. */
export function saveCachedSwitches(file: string, switches: Switches): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(switches));
  renameSync(tmp, file);
}
