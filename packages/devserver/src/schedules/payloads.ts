import type { temporal } from '@temporalio/proto';

type IPayload = temporal.api.common.v1.IPayload;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A search attribute payload as the TypeScript SDK encodes it (json/plain + type metadata). */
export function searchAttributePayload(value: unknown, type: 'Keyword' | 'Datetime' | 'Bool'): IPayload {
  return {
    metadata: { encoding: encoder.encode('json/plain'), type: encoder.encode(type) },
    data: encoder.encode(JSON.stringify(value)),
  };
}

function bytesToString(b: Uint8Array | string | null | undefined): string {
  if (b === null || b === undefined) return '';
  if (typeof b === 'string') return Buffer.from(b, 'base64').toString('utf8');
  return decoder.decode(b);
}

/** Decodes a json/plain payload; undefined when it is not JSON. */
export function decodeJsonPayload(p: IPayload | null | undefined): unknown {
  if (!p) return undefined;
  const encoding = bytesToString(p.metadata?.['encoding']);
  if (encoding !== '' && encoding !== 'json/plain') return undefined;
  try {
    return JSON.parse(bytesToString(p.data)) as unknown;
  } catch {
    return undefined;
  }
}

/** The `type` metadata of a search attribute payload ('Keyword', 'Int', ...), if any. */
export function payloadTypeName(p: IPayload | null | undefined): string | undefined {
  const t = bytesToString(p?.metadata?.['type']);
  return t === '' ? undefined : t;
}
