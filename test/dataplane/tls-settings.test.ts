// The ssl-* URL parameters of named connections (src/activities/db/tls.ts): defaults, modes, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlSsl, nodeTlsOptions, takeTlsSettings } from '../../src/activities/db/tls.js';
import { redisOptions, resolveConnection } from '../../src/activities/db/connections.js';

const dir = mkdtempSync(join(tmpdir(), 'tls-settings-'));
const ca = join(dir, 'ca.pem');
writeFileSync(ca, 'CA PEM');
const cert = join(dir, 'c.pem');
writeFileSync(cert, 'CERT PEM');
const key = join(dir, 'k.pem');
writeFileSync(key, 'KEY PEM');

test('no ssl-* parameter: plain; any of them: verify-identity by default, and the parameters are removed', () => {
  assert.equal(takeTlsSettings(new URL('mysql://u:p@h/db'), 'x'), undefined);
  const url = new URL(`mysql://u:p@h/db?ssl-ca=${ca}&charset=x`);
  const tls = takeTlsSettings(url, 'x');
  assert.deepEqual(tls, { mode: 'verify-identity', ca: 'CA PEM' });
  assert.equal(url.search, '?charset=x');
  assert.deepEqual(mysqlSsl(tls!), { ca: 'CA PEM', rejectUnauthorized: true, verifyIdentity: true });
});

test('modes map to verification: verify-ca checks the chain only, required checks nothing', () => {
  const vca = takeTlsSettings(new URL(`mysql://h/db?ssl-mode=VERIFY-CA&ssl-ca=${ca}`), 'x')!;
  assert.equal(vca.mode, 'verify-ca');
  assert.deepEqual(mysqlSsl(vca), { ca: 'CA PEM', rejectUnauthorized: true, verifyIdentity: false });
  const node = nodeTlsOptions(vca);
  assert.equal(node.rejectUnauthorized, true);
  assert.equal(typeof node.checkServerIdentity, 'function');
  const req = takeTlsSettings(new URL('mysql://h/db?ssl-mode=required'), 'x')!;
  assert.deepEqual(mysqlSsl(req), { rejectUnauthorized: false, verifyIdentity: false });
  const vid = nodeTlsOptions(takeTlsSettings(new URL('mysql://h/db?ssl-mode=verify-identity'), 'x')!);
  assert.equal(vid.checkServerIdentity, undefined, 'node checks the host name itself');
});

test('bad settings are configuration errors naming the setting', () => {
  const name = { name: 'ConnectionNotConfiguredError' };
  assert.throws(() => takeTlsSettings(new URL('mysql://h/db?ssl-mode=maybe'), 'conn "a"'), {
    ...name,
    message: /conn "a": ssl-mode=maybe/,
  });
  assert.throws(() => takeTlsSettings(new URL(`mysql://h/db?ssl-cert=${cert}`), 'x'), {
    ...name,
    message: /both ssl-cert and ssl-key/,
  });
  assert.throws(() => takeTlsSettings(new URL('mysql://h/db?ssl-ca=/nonexistent/ca.pem'), 'x'), {
    ...name,
    message: /cannot read ssl-ca file \/nonexistent\/ca.pem/,
  });
  assert.throws(() => takeTlsSettings(new URL(`mysql://h/db?ssl-mode=disabled&ssl-ca=${ca}`), 'x'), name);
});

test('named connections and Redis read them from the environment', () => {
  process.env.MIGRATOR_DB_TLSCHECK = `mysql://u:p%40ss@db.example:3307/app?ssl-ca=${ca}&ssl-cert=${cert}&ssl-key=${key}`;
  const conn = resolveConnection('tlscheck');
  assert.equal(conn.password, 'p@ss');
  assert.deepEqual(conn.tls, { mode: 'verify-identity', ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' });
  process.env.MIGRATOR_REDIS_URL = `rediss://:pw@r.example:6380/2?ssl-ca=${ca}`;
  const r = redisOptions();
  assert.equal(r.host, 'r.example');
  assert.equal(r.port, 6380);
  assert.equal(r.db, 2);
  assert.equal(r.password, 'pw');
  assert.equal(r.tls?.ca, 'CA PEM');
  process.env.MIGRATOR_REDIS_URL = 'rediss://r.example';
  assert.equal(redisOptions().tls?.rejectUnauthorized, true, 'rediss:// alone verifies against system CAs');
  process.env.MIGRATOR_REDIS_URL = 'redis://r.example';
  assert.equal(redisOptions().tls, undefined);
});
