/**
 * Session kinds. Session variables stick to a connection, and a pool hands connections from one user to
 * the next: a setting one user needs (the row writers' foreign_key_checks=0) must never reach another
 * (a repair's DELETE of a parent, which must cascade). So every kind of session has its own pool
 * (getPool(name, kind)), whose connections are set up for that kind when they open and serve nothing
 * else; or the user destroys the connection instead of releasing it. Users still set what they rely on
 * when they take a connection (prepareWriterSession): cheap, and it undoes a temporary change a previous
 * user of the same kind failed to restore.
 */
export type SessionKind = 'default' | 'rowWriter';

/**
 * Row writers (copier chunks; the CDC applier's own session, destroyed after its run): values exactly as given (STRICT: a value
 * the target column cannot hold fails loudly instead of being truncated), an explicit 0 in an
 * AUTO_INCREMENT column stays 0, no foreign-key checks or cascades (rows arrive out of parent/child
 * order, and REPLACE must not cascade-delete children), UTC, bounded lock waits.
 */
export const ROW_WRITER_SESSION_SQL =
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', " +
  "foreign_key_checks = 0, time_zone = '+00:00', innodb_lock_wait_timeout = 30";

/** Statements that set up a new connection of `kind` (after the settings every session gets). */
export function sessionSetup(kind: SessionKind): string[] {
  return kind === 'rowWriter' ? [ROW_WRITER_SESSION_SQL] : [];
}
