/**
 * Errors a router raises instead of writing under switches it cannot vouch for. Each has a stable
 * `code` so applications can tell them apart (and retry later: both are temporary).
 */

/** The switches could not be confirmed by Redis within the router's lease. */
export class SwitchesStaleError extends Error {
  override name = 'SwitchesStaleError';
  readonly code = 'MIGRATOR_SWITCHES_STALE';
}

/** A fenced write-mode change held writes for longer than the router's holdMaxMs. */
export class WritesHeldError extends Error {
  override name = 'WritesHeldError';
  readonly code = 'MIGRATOR_WRITES_HELD';
}
