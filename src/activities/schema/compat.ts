import type { ColumnInfo } from './types.js';

/** Type families: values cross between families only with conversion, so a family change is incompatible. */
const FAMILY: Record<string, string> = {
  tinyint: 'int',
  smallint: 'int',
  mediumint: 'int',
  int: 'int',
  integer: 'int',
  bigint: 'int',
  decimal: 'decimal',
  numeric: 'decimal',
  float: 'float',
  double: 'float',
  real: 'float',
  char: 'text',
  varchar: 'text',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  json: 'text',
  binary: 'bin',
  varbinary: 'bin',
  tinyblob: 'bin',
  blob: 'bin',
  mediumblob: 'bin',
  longblob: 'bin',
  date: 'date',
  datetime: 'datetime',
  timestamp: 'datetime',
  time: 'time',
  year: 'year',
  enum: 'enum',
  set: 'set',
  bit: 'bit',
};
const INT_BYTES: Record<string, number> = {
  tinyint: 1,
  smallint: 2,
  mediumint: 3,
  int: 4,
  integer: 4,
  bigint: 8,
};
const TEXT_MAX: Record<string, number> = {
  tinytext: 255,
  text: 65535,
  mediumtext: 16777215,
  longtext: 4294967295,
  json: 4294967295,
  tinyblob: 255,
  blob: 65535,
  mediumblob: 16777215,
  longblob: 4294967295,
};

function args(columnType: string): number[] {
  const m = /\(([\d,\s]+)\)/.exec(columnType);
  return m ? m[1].split(',').map((x) => Number(x.trim())) : [];
}

function maxLength(c: ColumnInfo): number {
  if (c.dataType in TEXT_MAX) return TEXT_MAX[c.dataType];
  return args(c.columnType)[0] ?? 1;
}

function enumValues(columnType: string): string[] {
  const inner = columnType.slice(columnType.indexOf('(') + 1, columnType.lastIndexOf(')'));
  return [...inner.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]);
}

/** Why a source column's values may not survive in the target column, or null when they do. */
export function incompatibility(src: ColumnInfo, tgt: ColumnInfo): string | null {
  const fs = FAMILY[src.dataType] ?? src.dataType;
  const ft = FAMILY[tgt.dataType] ?? tgt.dataType;
  const show = `${src.columnType} -> ${tgt.columnType}`;
  if (fs !== ft && !(fs === 'date' && ft === 'datetime')) return `type family changes (${show})`;
  if (src.nullable && !tgt.nullable) return `source is nullable, target is NOT NULL (${show})`;
  switch (fs) {
    case 'int': {
      const su = src.columnType.includes('unsigned');
      const tu = tgt.columnType.includes('unsigned');
      const sb = INT_BYTES[src.dataType];
      const tb = INT_BYTES[tgt.dataType];
      if (su && !tu && tb <= sb)
        return `signedness changes: unsigned values above the signed maximum do not fit (${show})`;
      if (!su && tu) return `signedness changes: negative values do not fit (${show})`;
      if (tb < sb) return `narrower integer (${show})`;
      return null;
    }
    case 'decimal': {
      const [sp = 10, ss = 0] = args(src.columnType);
      const [tp = 10, ts = 0] = args(tgt.columnType);
      if (ts < ss) return `fewer decimal places: values would be rounded (${show})`;
      if (tp - ts < sp - ss) return `fewer integer digits: large values do not fit (${show})`;
      if (
        src.columnType.includes('unsigned') !== tgt.columnType.includes('unsigned') &&
        !src.columnType.includes('unsigned')
      ) {
        return `signedness changes (${show})`;
      }
      return null;
    }
    case 'float':
      return src.dataType === 'double' && tgt.dataType === 'float'
        ? `DOUBLE -> FLOAT loses precision (${show})`
        : null;
    case 'text':
    case 'bin':
      if (maxLength(tgt) < maxLength(src)) return `shorter type: longer values would be rejected (${show})`;
      if (
        fs === 'text' &&
        src.charset &&
        tgt.charset &&
        src.charset !== tgt.charset &&
        tgt.charset !== 'utf8mb4'
      ) {
        return `character set changes ${src.charset} -> ${tgt.charset}: characters may not be representable`;
      }
      return null;
    case 'datetime':
    case 'time': {
      const sf = args(src.columnType)[0] ?? 0;
      const tf = args(tgt.columnType)[0] ?? 0;
      if (tf < sf) return `fewer fractional-second digits: values would be rounded (${show})`;
      if (src.dataType === 'datetime' && tgt.dataType === 'timestamp')
        return `DATETIME -> TIMESTAMP cannot hold dates outside 1970-2038 (${show})`;
      return null;
    }
    case 'enum':
    case 'set': {
      const tv = new Set(enumValues(tgt.columnType));
      const missing = enumValues(src.columnType).filter((v) => !tv.has(v));
      return missing.length
        ? `target lacks value(s) ${missing.map((v) => `'${v}'`).join(', ')} (${show})`
        : null;
    }
    case 'bit':
      return (args(tgt.columnType)[0] ?? 1) < (args(src.columnType)[0] ?? 1)
        ? `narrower BIT (${show})`
        : null;
    default:
      return null;
  }
}
