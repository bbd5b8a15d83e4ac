/**
 * JSON form of persisted state: bytes become {"$b": base64}, int64 Longs become numbers, only own
 * properties are kept (protobufjs defaults on prototypes read back as undefined, which every reader
 * treats as the zero value). One record per line.
 */

const isLong = (v: object): v is { toNumber(): number } =>
  'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function' && 'low' in v && 'high' in v;

/**
 * The conversion, done while JSON.stringify walks the value (no deep copy): it sees each original
 * value as `this[key]`, before protobufjs messages' own toJSON would turn them into their proto3-JSON
 * form (a message becomes a shallow copy of its own fields).
 */
function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  if (raw === null || typeof raw !== 'object') return value;
  if (raw instanceof Uint8Array)
    return { $b: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  if (isLong(raw)) return raw.toNumber();
  if (typeof (raw as { toJSON?: unknown }).toJSON === 'function') return { ...raw };
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  return typeof o.$b === 'string' && Object.keys(o).length === 1 ? Buffer.from(o.$b, 'base64') : value;
}

/** One record as a line of the log or snapshot. */
export function encodeLine(record: object): string {
  return `${JSON.stringify(record, replacer)}\n`;
}

/** Parses JSON written by encodeLine (or the previous whole-state file), bytes restored. */
export function parseJson(text: string): unknown {
  return JSON.parse(text, reviver);
}

/** Parses one line; undefined when it is not a complete record (a torn last write). */
export function decodeLine(line: string): unknown {
  if (!line.trim()) return undefined;
  try {
    return parseJson(line);
  } catch {
    return undefined;
  }
}
