import type mysql from 'mysql2/promise';
import type { TableSpec } from '../contracts.js';

/** A plan's updatedAtTimeZone (or the server's default zone) that the server cannot convert into. */
export class UnknownTimeZoneError extends Error {
  override name = 'UnknownTimeZoneError';
}

/**
 * The zone in which the application writes a DATETIME updatedAtColumn: the table's updatedAtTimeZone,
 * else the server's @@global.time_zone (what an application session gets unless it sets its own).
 */
export async function updatedAtZone(pool: mysql.Pool, spec: TableSpec): Promise<string> {
  if (spec.updatedAtTimeZone) return spec.updatedAtTimeZone;
  const [[row]] = await pool.query<mysql.RowDataPacket[]>('SELECT @@global.time_zone AS tz');
  return String(row.tz);
}

/**
 * A UTC window [since, until) (DATETIME(6) text, as the loop's '+00:00' session computes it) in `zone`'s
 * wall-clock time, for comparing with a DATETIME column. CONVERT_TZ answers NULL for a zone the server
 * does not know (named zones need the time zone tables; offsets such as +09:00 always work): that is
 * an UnknownTimeZoneError naming the table and the fix, never an empty window.
 */
export async function windowInZone(
  pool: mysql.Pool,
  spec: TableSpec,
  zone: string,
  since: string,
  until: string,
): Promise<{ since: string; until: string }> {
  const [[row]] = await pool.query<mysql.RowDataPacket[]>(
    "SELECT CAST(CONVERT_TZ(?, '+00:00', ?) AS CHAR) AS s, CAST(CONVERT_TZ(?, '+00:00', ?) AS CHAR) AS u",
    [since, zone, until, zone],
  );
  if (row.s === null || row.u === null) throw unknownZone(spec, zone);
  return { since: String(row.s), until: String(row.u) };
}

export function unknownZone(spec: TableSpec, zone: string): UnknownTimeZoneError {
  return new UnknownTimeZoneError(
    `time zone ${JSON.stringify(zone)} for ${spec.name}.${spec.updatedAtColumn} (tables[].updatedAtTimeZone` +
      `${spec.updatedAtTimeZone ? '' : ", defaulted from the server's @@global.time_zone"}) is unknown to the server: ` +
      'load the time zone tables (mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb mysql) or set an offset such as +09:00',
  );
}
