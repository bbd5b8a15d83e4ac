/**
 * Bad input, counted: every entry point (plan files, `migrate` arguments, updates and signals sent with
 * the real client to a running migration, the worker's connection settings, unsupported schemas met by
 * PRECHECK) gets distinct bad inputs. Each must be answered by an error naming the field or table and
 * the fix, and must change nothing: the running migration's state, its switches in Redis, its history
 * (updates and CLI usage errors never reach it), both databases; a refused plan starts nothing; a
 * failed PRECHECK stays in PRECHECK with its switches at SOURCE_ONLY and nothing created on the target.
 * The number of bad inputs is printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import {
  atGate,
  createSchema,
  startEnv,
  startMigration,
  status,
  testPlan,
  waitStatus,
  type Env,
} from './helpers.js';
import { migrateInProcess, type CliRun } from '../cli/helpers.js';
import { SwitchStore } from '../../src/switches/index.js';
import { migrationWorkflowId, type MigrationStatus } from '../../src/workflows/api.js';
import { SecretScanner, stackSecrets, type Secret } from '../support/secret-scan.js';

type Entry = 'plan file' | 'migrate arguments' | 'update' | 'signal' | 'connection settings' | 'schema';

interface Case {
  entry: Entry;
  name: string;
  /** Sends the bad input; returns the text the sender (or the operator) gets back. */
  send(): Promise<string>;
  /** The answer must match all of these: what is wrong (field/table) and what to do. */
  says: RegExp[];
  /** The migration id it starts (a PRECHECK that must fail); nothing else may start a workflow. */
  starts?: string;
}

let env: Env;
let steady: WorkflowHandle;
let redis: Redis;
let switches: SwitchStore;
const dir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'bad-input-'));
/** Fake credentials written into bad inputs: they must not come back anywhere either. */
const fakeSecrets: Secret[] = [
  { label: 'password in a plan', value: 'hunter2_in_plan' },
  { label: 'password in a bad DSN', value: 'hunter2_in_dsn' },
];

before(async () => {
  env = await startEnv();
  await createSchema(env.stack, 40);
  const src = await env.stack.source.rootConnection('app');
  const tgt = await env.stack.target.rootConnection('app');
  try {
    await src.query(`
      CREATE TABLE nokey (a INT, b INT);
      CREATE TABLE nullable_unique (a INT NULL, b INT, UNIQUE KEY (a));
      CREATE TABLE shapes (id INT PRIMARY KEY, area POLYGON NULL);
      CREATE TABLE occupied (id INT PRIMARY KEY, v INT);
      CREATE TABLE narrow (id INT PRIMARY KEY, v VARCHAR(100));
      INSERT INTO nokey VALUES (1, 1);`);
    await tgt.query(`
      CREATE TABLE occupied (id INT PRIMARY KEY, v INT);
      INSERT INTO occupied VALUES (1, 1);
      CREATE TABLE narrow (id INT PRIMARY KEY, v VARCHAR(10));`);
  } finally {
    await Promise.all([src.end(), tgt.end()]);
  }
  redis = new Redis(env.stack.redis.url);
  switches = new SwitchStore(redis);
  // The running migration the updates, signals and CLI commands are aimed at: waiting at a gate.
  steady = await startMigration(env, testPlan('steady'));
  await atGate(steady, 'DUAL_WRITE_SOURCE_FIRST', undefined, 120_000);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await switches?.close();
  redis?.disconnect();
  await env?.stop();
});

// ---- what must not change -------------------------------------------------------------------------

/** The running migration's state as far as any command could change it. */
function stateOf(s: MigrationStatus): unknown {
  return {
    phase: s.phase,
    readStep: s.readStep,
    state: s.state,
    paused: s.paused,
    rollingBackTo: s.rollingBackTo,
    gate: s.gate && { next: s.gate.next, percent: s.gate.nextReadPercent ?? null },
    switches: {
      writeMode: s.switches.writeMode,
      readPercent: s.switches.readPercent,
      version: s.switches.version,
    },
    frames: s.compensation.map((f) => `${f.phase}@${f.readPercent ?? ''}:${f.actions.length}`),
    lastVerification: s.lastVerification?.finishedAt ?? null,
    lastScheduledVerification: s.lastScheduledVerification?.finishedAt ?? null,
    error: s.error,
    accepted: s.audit.filter((a) => a.accepted).length,
  };
}

async function tableDigest(stack: Env['stack'], side: 'source' | 'target'): Promise<string> {
  const conn = await stack[side].rootConnection('app');
  try {
    const [tables] = await conn.query<mysql.RowDataPacket[]>('SHOW TABLES');
    const names = tables.map((r) => String(Object.values(r)[0])).sort();
    const sums: string[] = [];
    for (const t of names) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE \`${t}\``);
      sums.push(`${t}=${String(rows[0].Checksum)}`);
    }
    return sums.join(',');
  } finally {
    await conn.end();
  }
}

interface Snapshot {
  state: unknown;
  redis: unknown;
  /** Signals and updates in the running migration's history (its gate polls add other events). */
  interactions: number;
  workflows: string[];
  source: string;
  target: string;
}

const EventType = proto.temporal.api.enums.v1.EventType;
const INTERACTION_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
]);

async function snapshot(): Promise<Snapshot> {
  const sw = await switches.get('steady');
  const workflows: string[] = [];
  for await (const wf of env.client.workflow.list()) workflows.push(wf.workflowId);
  return {
    state: stateOf(await status(steady)),
    redis: sw && { writeMode: sw.writeMode, readPercent: sw.readPercent, version: sw.version },
    interactions: ((await steady.fetchHistory()).events ?? []).filter((e) =>
      INTERACTION_EVENTS.has(Number(e.eventType)),
    ).length,
    workflows: workflows.sort(),
    source: await tableDigest(env.stack, 'source'),
    target: await tableDigest(env.stack, 'target'),
  };
}

// ---- senders -------------------------------------------------------------------------------------

const cliEnv = (): Record<string, string> => ({
  TEMPORAL_ADDRESS: env.stack.env.TEMPORAL_ADDRESS,
  MIGRATE_CONNECT_TIMEOUT: '5',
});

/** `migrate ...args`: must be refused (exit != 0); the answer is what the operator reads. */
async function cli(args: string[], expectedExit = 2): Promise<string> {
  const run: CliRun = await migrateInProcess(args, cliEnv());
  assert.equal(
    run.code,
    expectedExit,
    `migrate ${args.join(' ')}: exit ${run.code}\n${run.stderr}${run.stdout}`,
  );
  return run.stderr + run.stdout;
}

function planFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A bad plan: refused by `plan validate` and by `start` (which must not start anything). */
async function badPlan(name: string, text: string): Promise<string> {
  const file = planFile(name, text);
  await cli(['plan', 'validate', file]);
  return cli(['start', '--plan', file]);
}

const goodTables = 'tables: [{name: customers}, {name: orders}]';

/** An update the workflow's validator must reject (nothing is written to the history). */
async function badUpdate(name: string, payload: unknown): Promise<string> {
  const err = await steady.executeUpdate(name, { args: [payload] }).then(
    () => assert.fail(`update ${name} ${JSON.stringify(payload)} was accepted`),
    (e: Error & { cause?: Error }) => e,
  );
  return `${err.message} ${err.cause?.message ?? ''}`;
}

/** A signal the workflow must ignore: its answer is the warning it records (signals cannot reply). */
async function badSignal(name: string, payload: unknown): Promise<string> {
  const before = (await status(steady)).warnings.length;
  await steady.signal(name, payload);
  const s = await waitStatus(steady, (x) => x.warnings.length > before, `a warning for signal ${name}`);
  return s.warnings
    .slice(before)
    .map((w) => w.message)
    .join('\n');
}

/**
 * A migration whose PRECHECK must fail (started through `migrate start`): the answer is the failed
 * step's error; it must stay in PRECHECK, switches SOURCE_ONLY at 0 %, nothing created on the target.
 */
async function failingPrecheck(
  id: string,
  planText: string,
  workerEnv: Record<string, string> = {},
): Promise<string> {
  const targetBefore = await tableDigest(env.stack, 'target');
  const saved = Object.fromEntries(Object.keys(workerEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, workerEnv); // the in-process worker reads its connections from here
  try {
    const run = await migrateInProcess(
      ['start', '--plan', planFile(`${id}.yaml`, `id: ${id}\n${planText}`)],
      cliEnv(),
    );
    assert.equal(run.code, 0, `${run.stderr}${run.stdout}`);
    const handle = env.client.workflow.getHandle(migrationWorkflowId(id));
    const s = await waitStatus(handle, (x) => x.error !== null, `${id}: precheck failure`);
    assert.equal(s.phase, 'PRECHECK', `${id} went past PRECHECK`);
    assert.deepEqual(
      s.compensation.map((f) => f.phase),
      ['PRECHECK'],
    );
    const sw = await switches.get(id);
    assert.deepEqual([sw?.writeMode, sw?.readPercent], ['SOURCE_ONLY', 0], `${id}: switches`);
    assert.equal(await tableDigest(env.stack, 'target'), targetBefore, `${id}: the target changed`);
    await handle.terminate('bad-input test: precheck failed as expected');
    return s.error ?? '';
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ---- the cases ---------------------------------------------------------------------------------------

const plans: Case[] = [
  [
    'unknown top-level field',
    `id: p1\ntabels: [{name: orders}]\n${goodTables}\n`,
    [/tabels/, /unknown field/, /spelling|remove/],
  ],
  [
    'unknown table field',
    `id: p2\ntables: [{name: orders, chunk_size: 10}]\n`,
    [/tables\[0\]/, /chunk_size/, /spelling|remove/],
  ],
  [
    'wrong type',
    `id: p3\n${goodTables}\ncopy: {parallelism: four}\n`,
    [/copy\.parallelism/, /[Ee]xpected number/],
  ],
  [
    'number out of range (low)',
    `id: p4\n${goodTables}\ncopy: {parallelism: 0}\n`,
    [/copy\.parallelism/, /greater than or equal to 1/],
  ],
  [
    'number out of range (high)',
    `id: p5\ntables: [{name: orders, chunkSize: 5000000}]\n`,
    [/tables\[0\]\.chunkSize/, /less than or equal to 1000000/],
  ],
  [
    'negative duration',
    `id: p6\n${goodTables}\nverification: {intervalSeconds: -5}\n`,
    [/verification\.intervalSeconds/, /greater than or equal to 0/],
  ],
  [
    'unparsable duration',
    `id: p7\n${goodTables}\ngates: {default: {soakSeconds: ten minutes}}\n`,
    [/soakSeconds/, /not a duration: "ten minutes"/, /30s/],
  ],
  [
    'bad table identifier',
    `id: p8\ntables: [{name: "orders; DROP TABLE x"}]\n`,
    [/tables\[0\]\.name/, /plain identifier/],
  ],
  [
    'bad column identifier',
    `id: p9\ntables: [{name: orders, key: ["id)"]}]\n`,
    [/tables\[0\]\.key\[0\]/, /plain identifier/],
  ],
  ['bad id', `id: Shop!\n${goodTables}\n`, [/\bid\b/, /lower-case letters, digits and dashes/]],
  [
    'DSN as a connection',
    `id: p10\nsource: mysql://root:hunter2_in_plan@db/shop\n${goodTables}\n`,
    [/\bsource\b/, /MIGRATOR_DB_<NAME>/, /credentials/],
  ],
  [
    'password field',
    `id: p11\npassword: hunter2_in_plan\n${goodTables}\n`,
    [/\bpassword\b/, /MIGRATOR_DB_<NAME>/],
  ],
  [
    'unknown phase',
    `id: p12\n${goodTables}\nphases: [PRECHECK, PREPARE_TARGET, START_SYNC, BULK_COPY, CATCH_UP_VERIFY, DUAL_WRITE_SOURCE_FIRST, WARP, FINALIZE]\n`,
    [/phases\[6\]/, /PRECHECK/, /WARP/],
  ],
  [
    'mandatory phase missing',
    `id: p13\n${goodTables}\nphases: [PRECHECK, PREPARE_TARGET, START_SYNC, CATCH_UP_VERIFY, DUAL_WRITE_SOURCE_FIRST, FINALIZE]\n`,
    [/phases/, /BULK_COPY is mandatory/],
  ],
  [
    'phases out of order',
    `id: p14\n${goodTables}\nphases: [PRECHECK, START_SYNC, PREPARE_TARGET, BULK_COPY, CATCH_UP_VERIFY, DUAL_WRITE_SOURCE_FIRST, FINALIZE]\n`,
    [/phases\[2\]/, /out of order/, /order: PRECHECK/],
  ],
  [
    'TARGET_ONLY without target-first',
    `id: p15\n${goodTables}\nphases: [PRECHECK, PREPARE_TARGET, START_SYNC, BULK_COPY, CATCH_UP_VERIFY, DUAL_WRITE_SOURCE_FIRST, TARGET_ONLY, FINALIZE]\n`,
    [/phases/, /TARGET_ONLY needs DUAL_WRITE_TARGET_FIRST/],
  ],
  [
    'read steps decreasing',
    `id: p16\n${goodTables}\nreadSteps: [50, 10, 100]\n`,
    [/readSteps\[1\]/, /strictly increasing/],
  ],
  [
    'read steps not ending at 100',
    `id: p17\n${goodTables}\nreadSteps: [5, 50]\n`,
    [/readSteps/, /last read step must be 100/],
  ],
  [
    'read step over 100',
    `id: p18\n${goodTables}\nreadSteps: [5, 150]\n`,
    [/readSteps\[1\]/, /less than or equal to 100/],
  ],
  [
    'FINALIZE auto-advance',
    `id: p19\n${goodTables}\ngates: {FINALIZE: {autoAdvance: true}}\n`,
    [/FINALIZE\.autoAdvance/, /must be false/],
  ],
  [
    'source equals target',
    `id: p20\nsource: db1\ntarget: db1\n${goodTables}\n`,
    [/\btarget\b/, /different connections/],
  ],
  [
    'table listed twice',
    `id: p21\ntables: [{name: orders}, {name: orders}]\n`,
    [/tables\[1\]\.name/, /listed twice/],
  ],
  ['no tables', `id: p22\ntables: []\n`, [/\btables\b/, /at least one table/]],
  [
    'unknown repair loop mode',
    `id: p23\n${goodTables}\nrepairLoop: {mode: sometimes}\n`,
    [/repairLoop\.mode/, /binlog.*updated_at.*full/],
  ],
  ['not YAML', `id: p24\ntables: [{name: orders\n`, [/not valid YAML\/JSON/, /p24\.yaml|bad-input/]],
  ['not a mapping', `- id: p25\n- tables: []\n`, [/\(root\)/, /[Ee]xpected object/]],
].map(([name, text, says]) => ({
  entry: 'plan file' as const,
  name: name as string,
  send: () => badPlan(`${String(name).replace(/\W+/g, '-')}.yaml`, text as string),
  says: says as RegExp[],
}));

const invalidJsonFile: Case = {
  entry: 'plan file',
  name: 'JSON plan with a syntax error',
  send: () => badPlan('broken.json', '{"id": "p26", "tables": [{"name": "orders"}],}'),
  says: [/broken\.json/, /not valid (YAML\/)?JSON/],
};

const cliCases: Case[] = [
  {
    name: 'percent over 100',
    send: () => cli(['read-percent', '101', 'steady']),
    says: [/"101" is not a whole percentage from 0 to 100/],
  },
  {
    name: 'percent not a number',
    send: () => cli(['read-percent', 'half', 'steady']),
    says: [/"half" is not a whole percentage from 0 to 100/],
  },
  {
    name: 'unknown phase',
    send: () => cli(['rollback', 'steady', '--to', 'SIDEWAYS']),
    says: [/unknown phase "SIDEWAYS"/, /phases are PRECHECK/],
  },
  {
    name: '--read-percent without --to READ_SWITCH',
    send: () => cli(['rollback', 'steady', '--read-percent', '5']),
    says: [/--read-percent needs --to READ_SWITCH/],
  },
  {
    name: 'finalize without --confirm',
    send: () => cli(['finalize', 'steady']),
    says: [/repeat with --confirm/],
  },
  {
    name: 'unknown command',
    send: () => cli(['frobnicate', 'steady']),
    says: [/unknown command 'frobnicate'/],
  },
  {
    name: 'unknown option',
    send: () => cli(['advance', 'steady', '--yes']),
    says: [/unknown option '--yes'/],
  },
  {
    name: 'force without a reason',
    send: () => cli(['advance', 'steady', '--force']),
    says: [/--force needs --reason/],
  },
  {
    name: 'interval not positive',
    send: () => cli(['watch', 'steady', '--interval', '0']),
    says: [/--interval/, /"0" is not a positive number of seconds/],
  },
  {
    name: 'audit count not a number',
    send: () => cli(['status', 'steady', '--audit', 'many']),
    says: [/--audit/, /"many" is not a whole number/],
  },
  {
    name: 'list limit not positive',
    send: () => cli(['list', '--limit', '0']),
    says: [/--limit/, /"0" is not a positive whole number/],
  },
  {
    name: 'list by unknown phase',
    send: () => cli(['list', '--phase', 'WARP']),
    says: [/unknown phase "WARP"/],
  },
  {
    name: 'verify an unknown table',
    send: () => cli(['verify', 'steady', '--table', 'ghost']),
    says: [/unknown table ghost/, /the plan has customers/],
  },
  { name: 'unknown migration', send: () => cli(['advance', 'nosuch'], 3), says: [/no migration "nosuch"/] },
  { name: 'missing --plan', send: () => cli(['start']), says: [/--plan <file>/] },
  {
    name: 'plan file missing',
    send: () => cli(['start', '--plan', join(dir, 'nope.yaml')]),
    says: [/cannot read plan file .*nope\.yaml: ENOENT/],
  },
].map((c) => ({ entry: 'migrate arguments' as const, ...c }));

const updateCases: Case[] = [
  {
    name: 'percent over 100',
    send: () => badUpdate('setReadPercent', { percent: 150 }),
    says: [/percent 150 is outside 0-100/],
  },
  {
    name: 'percent not a number',
    send: () => badUpdate('setReadPercent', { percent: 'fifty' }),
    says: [/"percent" must be a number from 0 to 100/],
  },
  {
    name: 'percent outside READ_SWITCH',
    send: () => badUpdate('setReadPercent', { percent: 50 }),
    says: [/only be set at a READ_SWITCH gate/],
  },
  {
    name: 'rollback to an unknown phase',
    send: () => badUpdate('rollback', { toPhase: 'NOPE' }),
    says: [/unknown phase "NOPE"/, /phases: PRECHECK/],
  },
  {
    name: 'rollback read percent out of range',
    send: () => badUpdate('rollback', { toPhase: 'READ_SWITCH', readPercent: 500 }),
    says: [/"readPercent" must be a number from 0 to 100/],
  },
  {
    name: 'payload not an object',
    send: () => badUpdate('advance', 'go'),
    says: [/advance payload must be a JSON object/, /"by":"alice"/],
  },
  {
    name: 'confirm not true',
    send: () => badUpdate('finalize', { confirm: 'yes' }),
    says: [/finalize needs \{"confirm": true\}/],
  },
  { name: 'by not a string', send: () => badUpdate('pause', { by: 42 }), says: [/"by" must be a string/] },
  {
    name: 'reason not a string',
    send: () => badUpdate('abort', { reason: ['x'] }),
    says: [/"reason" must be a string/],
  },
  { name: 'resume when not paused', send: () => badUpdate('resume', {}), says: [/not paused/] },
].map((c) => ({ entry: 'update' as const, ...c }));

const signalCases: Case[] = [
  {
    name: 'percent below 0',
    send: () => badSignal('setReadPercent', { percent: -5 }),
    says: [/setReadPercent/, /percent -5 is outside 0-100/],
  },
  {
    name: 'rollback to FINALIZE',
    send: () => badSignal('rollback', { toPhase: 'FINALIZE' }),
    says: [/rollback/, /cannot roll back to FINALIZE/],
  },
  {
    name: 'payload is a list',
    send: () => badSignal('advance', [1, 2]),
    says: [/advance/, /payload must be a JSON object/],
  },
  {
    name: 'confirm not a boolean',
    send: () => badSignal('advance', { confirm: 'yes' }),
    says: [/"confirm" must be true or false/],
  },
  {
    name: 'malformed verification result',
    // Well-formed but for one field: a gate reading `'many' > 0` would count it as a clean verification.
    send: () =>
      badSignal('verificationResult', {
        origin: 'scheduled:nobody',
        authoritative: 'source',
        repair: false,
        startedAt: new Date().toISOString(),
        finishedAt: new Date().toISOString(),
        tables: [],
        totalMismatches: 'many',
        totalRepaired: 0,
      }),
    says: [/verificationResult/, /totalMismatches/],
  },
  {
    name: 'verification result not an object',
    send: () => badSignal('verificationResult', 'ok'),
    says: [/verificationResult/, /must be a JSON object/],
  },
].map((c) => ({ entry: 'signal' as const, ...c }));

const connectionFile = planFile('connections.json', '{"broken": mysql://x}');
const connectionCases: Case[] = [
  {
    starts: 'n1',
    name: 'not a URL',
    send: () =>
      failingPrecheck('n1', `source: badurl\n${goodTables}\n`, { MIGRATOR_DB_BADURL: 'not a url at all' }),
    says: [/MIGRATOR_DB_BADURL is not a valid mysql:\/\/ URL/],
  },
  {
    starts: 'n2',
    name: 'missing',
    send: () => failingPrecheck('n2', `target: nowhere\n${goodTables}\n`),
    says: [
      /connection "nowhere" is not configured/,
      /set MIGRATOR_DB_NOWHERE=mysql:\/\/user:password@host:port\/database/,
    ],
  },
  {
    starts: 'n3',
    name: 'wrong scheme',
    send: () =>
      failingPrecheck('n3', `source: pg\n${goodTables}\n`, {
        MIGRATOR_DB_PG: 'postgres://u:hunter2_in_dsn@127.0.0.1/app',
      }),
    says: [/MIGRATOR_DB_PG|connection "pg"/, /expected a mysql:\/\/ URL, got postgres:/],
  },
  {
    starts: 'n4',
    name: 'no database',
    send: () =>
      failingPrecheck('n4', `source: nodb\n${goodTables}\n`, {
        MIGRATOR_DB_NODB: 'mysql://u:hunter2_in_dsn@127.0.0.1:3306',
      }),
    says: [/connection "nodb"/, /names no database/],
  },
  {
    starts: 'n5',
    name: 'wrong password',
    send: () =>
      failingPrecheck('n5', `source: wrongpw\n${goodTables}\n`, {
        MIGRATOR_DB_WRONGPW: env.stack.source.url().replace(/:[^:@/]+@/, ':hunter2_in_dsn@'),
      }),
    says: [/connection "wrongpw"/, /Access denied/, /check MIGRATOR_DB_WRONGPW/],
  },
  {
    starts: 'n6',
    name: 'connections file not JSON',
    send: () =>
      failingPrecheck('n6', `source: broken\n${goodTables}\n`, { MIGRATOR_CONNECTIONS_FILE: connectionFile }),
    says: [/connections\.json/, /not valid JSON/, /MIGRATOR_CONNECTIONS_FILE/],
  },
].map((c) => ({ entry: 'connection settings' as const, ...c }));

const schemaCases: Case[] = [
  {
    starts: 't1',
    name: 'table without a key',
    send: () => failingPrecheck('t1', 'tables: [{name: nokey}]\n'),
    says: [/nokey/, /no (usable )?(primary|unique|key)/i, /add a PRIMARY KEY/],
  },
  {
    starts: 't2',
    name: 'only a nullable unique key',
    send: () => failingPrecheck('t2', 'tables: [{name: nullable_unique}]\n'),
    says: [/nullable_unique/, /add a PRIMARY KEY or a UNIQUE key over NOT NULL columns/],
  },
  {
    starts: 't3',
    name: 'table missing on the source',
    send: () => failingPrecheck('t3', 'tables: [{name: ghost}]\n'),
    says: [/ghost/, /does not exist/, /fix the table name in the plan/],
  },
  {
    starts: 't4',
    name: 'POLYGON column',
    send: () => failingPrecheck('t4', 'tables: [{name: shapes}]\n'),
    says: [/shapes\.area is POLYGON/, /excludeColumns/],
  },
  {
    starts: 't5',
    name: 'key column that does not exist',
    send: () => failingPrecheck('t5', 'tables: [{name: orders, key: [nope]}]\n'),
    says: [/orders/, /nope/, /fix the column name/],
  },
  {
    starts: 't6',
    name: 'excluded column that does not exist',
    send: () => failingPrecheck('t6', 'tables: [{name: orders, excludeColumns: [nope]}]\n'),
    says: [/orders/, /nope/, /excludeColumns/],
  },
  {
    starts: 't7',
    name: 'target table holds rows',
    send: () => failingPrecheck('t7', 'tables: [{name: occupied}]\n'),
    says: [/occupied already holds rows/, /TRUNCATE|empty/],
  },
  {
    starts: 't8',
    name: 'target column too narrow',
    send: () => failingPrecheck('t8', 'tables: [{name: narrow}]\n'),
    says: [/narrow\.v/, /varchar\(100\)/i],
  },
  {
    starts: 't9',
    name: 'updatedAtColumn that does not exist',
    send: () => failingPrecheck('t9', 'tables: [{name: orders, updatedAtColumn: modified}]\n'),
    says: [/orders/, /modified/, /updatedAtColumn/],
  },
  {
    starts: 't10',
    name: 'updatedAtColumn that is not a point in time',
    send: () => failingPrecheck('t10', 'tables: [{name: customers, updatedAtColumn: name}]\n'),
    says: [/customers\.name/, /not a DATETIME or TIMESTAMP/, /updatedAtColumn/],
  },
].map((c) => ({ entry: 'schema' as const, ...c }));

const CASES: Case[] = [
  ...plans,
  invalidJsonFile,
  ...cliCases,
  ...updateCases,
  ...signalCases,
  ...connectionCases,
  ...schemaCases,
];

test(
  'every bad input gets a clear error naming the field or table and the fix, and changes nothing',
  { timeout: 600_000 },
  async (t) => {
    assert.equal(
      new Set(CASES.map((c) => `${c.entry}: ${c.name}`)).size,
      CASES.length,
      'case names are distinct',
    );
    const failures: string[] = [];
    const before = await snapshot();
    const started = Date.now();
    for (const c of CASES) {
      let answer = '';
      try {
        answer = await c.send();
        for (const re of c.says)
          if (!re.test(answer))
            failures.push(
              `${c.entry} / ${c.name}: answer does not match ${re}:\n    ${answer.trim().replace(/\n/g, '\n    ')}`,
            );
      } catch (err) {
        failures.push(`${c.entry} / ${c.name}: ${(err as Error).message}`);
      }
      // A signal is recorded in the history by nature (and answered by a warning); nothing else may be.
      // A failing PRECHECK starts its own migration; nothing else may start a workflow.
      const now = await snapshot();
      const expectNow: Snapshot = {
        ...before,
        interactions: before.interactions + (c.entry === 'signal' ? 1 : 0),
        workflows: c.starts ? [...before.workflows, migrationWorkflowId(c.starts)].sort() : before.workflows,
      };
      try {
        assert.deepEqual(now, expectNow);
      } catch (err) {
        failures.push(`${c.entry} / ${c.name}: something changed: ${(err as Error).message}`);
      }
      Object.assign(before, now); // one failure is reported once, not by every case after it
    }
    const byEntry = new Map<Entry, number>();
    for (const c of CASES) byEntry.set(c.entry, (byEntry.get(c.entry) ?? 0) + 1);
    const summary = `bad inputs sent: ${CASES.length} in ${Math.round((Date.now() - started) / 1000)} s (${[...byEntry].map(([e, n]) => `${e} ${n}`).join(', ')})`;
    console.log(summary);
    t.diagnostic(summary);
    assert.deepEqual(failures, [], failures.join('\n'));
    assert.ok(CASES.length >= 25);
    for (const entry of [
      'plan file',
      'migrate arguments',
      'update',
      'signal',
      'connection settings',
      'schema',
    ] as Entry[])
      assert.ok((byEntry.get(entry) ?? 0) >= 1, `no bad input through ${entry}`);

    // No bad input made a credential travel: not the stack's, not the fake ones the inputs carried.
    const scanner = new SecretScanner([...stackSecrets(env.stack), ...fakeSecrets]);
    await scanner.temporal(env.client);
    assert.deepEqual(scanner.findings, [], scanner.report());
  },
);
