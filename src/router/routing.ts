/**
 * Sticky read routing. A routing key hashes to a bucket 0..9999; the read goes to the target when
 * bucket < readPercent * 100. A key's side therefore only changes when the percentage crosses its
 * bucket, and raising the percentage only moves keys from the source to the target.
 */
export const BUCKETS = 10_000;

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for an even spread. */
export function bucketOf(routingKey: string, salt = ''): number {
  let h = 0x811c9dc5;
  const text = salt + '\u0000' + routingKey;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % BUCKETS;
}

export function readsTarget(
  readPercent: number,
  routingKey: string | number | undefined,
  salt = '',
): boolean {
  if (readPercent <= 0) return false;
  if (readPercent >= 100) return true;
  const bucket =
    routingKey === undefined ? Math.floor(Math.random() * BUCKETS) : bucketOf(String(routingKey), salt);
  return bucket < Math.round(readPercent * 100);
}
