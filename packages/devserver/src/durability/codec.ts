/**
 * JSON form of persisted state: bytes become {"$b": base64}, int64 Longs become numbers, only own
 * properties are kept (protobufjs defaults on prototypes read back as undefined, which every reader
 * treats as the zero value). One record per line.
 */

export function toPlain(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v !== 'object') return v;
  if (v instanceof Uint8Array)
    return { $b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map(toPlain);
  if (
    'toNumber' in v &&
    typeof (v as { toNumber: unknown }).toNumber === 'function' &&
    'low' in v &&
    'high' in v
  ) {
    return (v as { toNumber(): number }).toNumber();
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && typeof x !== 'function') out[k] = toPlain(x);
  }
  return out;
}

export function fromPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fromPlain);
  const o = v as Record<string, unknown>;
  if (typeof o.$b === 'string' && Object.keys(o).length === 1) return Buffer.from(o.$b, 'base64');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = fromPlain(x);
  return out;
}

/** One record as a line of the log or snapshot. */
export function encodeLine(record: object): string {
  return `${JSON.stringify(toPlain(record))}\n`;
}

/** Parses one line; undefined when it is not a complete record (a torn last write). */
export function decodeLine(line: string): unknown {
  if (!line.trim()) return undefined;
  try {
    return fromPlain(JSON.parse(line));
  } catch {
    return undefined;
  }
}
