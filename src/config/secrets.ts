/**
 * A plan is stored in workflow history (visible in Temporal UI): it must never carry credentials.
 * This rejects fields that look like secrets, with the path and what to do instead.
 */

const SECRET_KEY =
  /^(password|passwd|pwd|pass|secret|token|dsn|uri|url|credentials?|api[_-]?key|auth|connectionString|connection_string)$/i;
const SECRET_VALUE = /^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@|^[a-z][a-z0-9+.-]*:\/\/|password=|pwd=/i;

export interface SecretFinding {
  path: string;
  message: string;
}

function fmt(path: (string | number)[]): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : p))
        .join('.')
        .replace(/\.\[/g, '[')
    : '(root)';
}

export function findSecrets(value: unknown, path: (string | number)[] = []): SecretFinding[] {
  const out: SecretFinding[] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...findSecrets(v, [...path, i])));
  } else if (value && typeof value === 'object') {
    // columnMap keys are column names (a `password` column may well be migrated).
    const keysAreColumns = path[path.length - 1] === 'columnMap';
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (!keysAreColumns && SECRET_KEY.test(k)) {
        out.push({
          path: fmt([...path, k]),
          message:
            `"${k}" looks like a credential or DSN; plans are stored in workflow history, so they name connections only. ` +
            'Set MIGRATOR_DB_<NAME>=mysql://user:password@host:port/db in the worker environment instead.',
        });
      } else {
        out.push(...findSecrets(v, [...path, k]));
      }
    }
  } else if (typeof value === 'string' && SECRET_VALUE.test(value)) {
    out.push({
      path: fmt(path),
      message:
        'this value looks like a connection URL/DSN; plans name connections only (e.g. "source"), and the worker ' +
        'resolves MIGRATOR_DB_<NAME> from its own environment.',
    });
  }
  return out;
}
