// Statements chosen per server version (MySQL 8.0 / 8.4 / MariaDB), GTID positions in both models, and
// the MySQL binlog settings precheck refuses. No MySQL server can be installed here: these are the
// choices, checked against the MySQL reference manual; MariaDB runs them for real in the other tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binlogSettingProblems, parseServerVersion, statementsFor } from '../../src/activities/db/server.js';
import { StreamGtid } from '../../src/activities/cdc/gtid.js';

test('server versions: flavor and numbers', () => {
  assert.deepEqual(parseServerVersion('10.11.19-MariaDB-0+deb12u1-log'), {
    flavor: 'mariadb',
    version: [10, 11, 19],
    text: '10.11.19-MariaDB-0+deb12u1-log',
  });
  assert.equal(parseServerVersion('8.0.36-0ubuntu0.22.04.1').flavor, 'mysql');
  assert.equal(parseServerVersion('5.5.5-10.6.12', 'MariaDB Server').flavor, 'mariadb');
  assert.deepEqual(parseServerVersion('8.4.3').version, [8, 4, 3]);
});

test('binlog status: SHOW MASTER STATUS up to MySQL 8.1 and on MariaDB, SHOW BINARY LOG STATUS from 8.2 (8.4 LTS)', () => {
  const status = (v: string) => statementsFor(parseServerVersion(v)).binlogStatus;
  assert.equal(status('5.7.44-log'), 'SHOW MASTER STATUS');
  assert.equal(status('8.0.40'), 'SHOW MASTER STATUS');
  assert.equal(status('8.1.0'), 'SHOW MASTER STATUS');
  assert.equal(status('8.2.0'), 'SHOW BINARY LOG STATUS');
  assert.equal(status('8.4.3'), 'SHOW BINARY LOG STATUS');
  assert.equal(status('9.1.0'), 'SHOW BINARY LOG STATUS');
  assert.equal(status('11.4.2-MariaDB'), 'SHOW MASTER STATUS');
});

test('replica status: SHOW REPLICA STATUS with Replica_/Source columns from MySQL 8.0.22; MariaDB keeps SHOW SLAVE STATUS', () => {
  const old = statementsFor(parseServerVersion('8.0.21'));
  assert.equal(old.replicaStatus, 'SHOW SLAVE STATUS');
  assert.equal(old.replicaColumns.secondsBehind, 'Seconds_Behind_Master');
  for (const v of ['8.0.22', '8.4.3']) {
    const s = statementsFor(parseServerVersion(v));
    assert.equal(s.replicaStatus, 'SHOW REPLICA STATUS');
    assert.deepEqual(s.replicaColumns, {
      ioRunning: 'Replica_IO_Running',
      sqlRunning: 'Replica_SQL_Running',
      secondsBehind: 'Seconds_Behind_Source',
    });
  }
  const maria = statementsFor(parseServerVersion('10.11.19-MariaDB'));
  assert.equal(maria.replicaStatus, 'SHOW SLAVE STATUS');
  assert.equal(maria.replicaColumns.ioRunning, 'Slave_IO_Running');
});

test('GTID at the head: BINLOG_GTID_POS on MariaDB, Executed_Gtid_Set on MySQL', () => {
  assert.equal(statementsFor(parseServerVersion('10.11.19-MariaDB')).gtid, 'binlog_gtid_pos');
  assert.equal(statementsFor(parseServerVersion('8.4.3')).gtid, 'executed_gtid_set');
});

test('stream GTID positions: MariaDB per-domain positions and MySQL executed sets, resumed from their text', () => {
  const maria = StreamGtid.parse('0-1-12');
  maria.addMariadb({ domainId: 0, serverId: 1, seqNo: 13 });
  maria.addMariadb({ domainId: 1, serverId: 3, seqNo: 5 });
  assert.equal(maria.toString(), '0-1-13,1-3-5');
  const uuid = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
  const mysql = StreamGtid.parse(`${uuid}:1-5`);
  mysql.addMysql(`${uuid}:6`);
  mysql.addMysql(`${uuid}:8`);
  assert.equal(mysql.toString(), `${uuid}:1-6:8`);
  const fresh = StreamGtid.parse(undefined);
  assert.equal(fresh.toString(), '');
  fresh.addMysql(`${uuid}:1`);
  assert.equal(fresh.toString(), `${uuid}:1`);
});

test('precheck refuses MySQL binlog_transaction_compression=ON and binlog_row_value_options=PARTIAL_JSON, with the fix', () => {
  const mysql = parseServerVersion('8.4.3');
  assert.deepEqual(
    binlogSettingProblems(mysql, { binlog_transaction_compression: 'OFF', binlog_row_value_options: '' }),
    [],
  );
  const problems = binlogSettingProblems(mysql, {
    binlog_transaction_compression: 'ON',
    binlog_row_value_options: 'PARTIAL_JSON',
  });
  assert.deepEqual(
    problems.map((p) => p.setting),
    ['binlog_transaction_compression', 'binlog_row_value_options'],
  );
  assert.match(problems[0].fix, /binlog_transaction_compression = OFF/);
  assert.match(problems[1].fix, /binlog_row_value_options = ''/);
  // MariaDB has neither variable.
  assert.deepEqual(
    binlogSettingProblems(parseServerVersion('10.11.19-MariaDB'), { binlog_transaction_compression: 'ON' }),
    [],
  );
});
