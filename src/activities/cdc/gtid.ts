/**
 * A stream's GTID position in either server's model: MariaDB's per-domain position ('0-1-1234,1-3-45',
 * zongji's MariadbGtidPosition) or MySQL's executed set ('uuid:1-5,uuid2:1-27', zongji's GtidSet),
 * told apart by their text and, while empty, by the first GTID event seen.
 */
import { GtidSet, MariadbGtidPosition } from '@vlasky/zongji';

export class StreamGtid {
  private constructor(
    private maria: MariadbGtidPosition | null,
    private mysql: GtidSet | null,
  ) {}

  static parse(text: string | undefined): StreamGtid {
    const t = (text ?? '').trim();
    if (t === '') return new StreamGtid(null, null);
    return t.includes(':')
      ? new StreamGtid(null, GtidSet.parse(t))
      : new StreamGtid(MariadbGtidPosition.parse(t), null);
  }

  /** A MariaDB GTID event's transaction. */
  addMariadb(parts: { domainId: number; serverId: number; seqNo: number | string }): void {
    this.maria ??= MariadbGtidPosition.parse('');
    this.maria.add(parts);
  }

  /** A MySQL GTID event's transaction ('uuid:gno' or 'uuid:tag:gno'). */
  addMysql(gtid: string): void {
    this.mysql ??= GtidSet.parse('');
    this.mysql.add(gtid);
  }

  toString(): string {
    return this.maria?.toString() ?? this.mysql?.toString() ?? '';
  }
}
