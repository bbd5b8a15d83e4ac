import type { EncodedKey, EncodedValue } from '../contracts.js';

/**
 * Key values between the driver and JSON (heartbeat details, activity results, workflow state):
 * Buffers become { b64 }, bigints become decimal strings, strings/numbers/null stay as they are.
 * decodeKey gives back what mysql2 binds identically (Buffer for binary values).
 */
export function encodeValue(value: unknown): EncodedValue {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return { b64: value.toString('base64') };
  if (value instanceof Uint8Array) return { b64: Buffer.from(value).toString('base64') };
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    // Unsafe integers must not lose digits on the way through JSON.
    return Number.isSafeInteger(value) || !Number.isInteger(value) ? value : BigInt(value).toString();
  }
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  throw new TypeError(`cannot encode a key value of type ${typeof value}`);
}

export function decodeValue(value: EncodedValue): string | number | null | Buffer {
  if (value === null) return null;
  if (typeof value === 'object') return Buffer.from(value.b64, 'base64');
  return value;
}

export function encodeKey(values: readonly unknown[]): EncodedKey {
  return values.map(encodeValue);
}

export function decodeKey(key: EncodedKey): (string | number | null | Buffer)[] {
  return key.map(decodeValue);
}

/** The key of a row (an object keyed by column name), encoded. */
export function rowKey(row: Record<string, unknown>, keyColumns: readonly string[]): EncodedKey {
  return keyColumns.map((c) => encodeValue(row[c]));
}

/** A stable string for a key (maps, sets, logs). */
export function keyString(key: EncodedKey): string {
  return JSON.stringify(key);
}
