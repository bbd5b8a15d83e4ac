import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileListQuery, type VisibilityRecord } from '../src/visibility/index.js';

// temporal.api.enums.v1.IndexedValueType
const TEXT = 1;
const KEYWORD = 2;
const INT = 3;
const DOUBLE = 4;
const BOOL = 5;
const DATETIME = 6;
const KEYWORD_LIST = 7;

// temporal.api.enums.v1.WorkflowExecutionStatus
const RUNNING = 1;
const COMPLETED = 2;
const FAILED = 3;
const TERMINATED = 5;

const types = new Map<string, number>([
  ['CustomKeyword', KEYWORD],
  ['CustomInt', INT],
  ['CustomDouble', DOUBLE],
  ['CustomBool', BOOL],
  ['CustomDatetime', DATETIME],
  ['CustomText', TEXT],
  ['CustomList', KEYWORD_LIST],
  ['MigrationId', KEYWORD],
]);

function rec(
  id: string,
  overrides: Partial<VisibilityRecord> = {},
  searchAttributes: Record<string, unknown> = {},
): VisibilityRecord {
  return {
    namespace: 'default',
    workflowId: id,
    runId: `run-${id}`,
    workflowType: 'migrateTable',
    status: RUNNING,
    startTime: new Date('2026-01-01T10:00:00Z'),
    taskQueue: 'migrations',
    searchAttributes,
    ...overrides,
  };
}

const records: VisibilityRecord[] = [
  rec(
    'wf-a',
    { startTime: new Date('2026-01-01T10:00:00Z') },
    {
      CustomKeyword: 'alpha',
      CustomInt: 5,
      CustomDouble: 1.5,
      CustomBool: true,
      CustomDatetime: '2026-02-01T00:00:00Z',
      CustomText: 'Copying rows from table orders',
      CustomList: ['red', 'green'],
    },
  ),
  rec(
    'wf-b',
    {
      workflowType: 'cutover',
      status: COMPLETED,
      startTime: new Date('2026-01-02T10:00:00Z'),
      closeTime: new Date('2026-01-02T11:00:00Z'),
    },
    { CustomKeyword: 'beta', CustomInt: 10, CustomText: 'cut-over finished', CustomList: ['blue'] },
  ),
  rec(
    'wf-c',
    {
      status: FAILED,
      startTime: new Date('2026-01-03T10:00:00Z'),
      closeTime: new Date('2026-01-03T10:30:00Z'),
      taskQueue: 'other',
    },
    { CustomInt: 20, TemporalScheduledById: 'nightly' },
  ),
  rec('other-d', { startTime: new Date('2026-01-04T10:00:00Z') }, { CustomBool: false }),
];

function ids(query: string, input: VisibilityRecord[] = records): string[] {
  const q = compileListQuery(query, types);
  return input
    .filter((r) => q.filter(r))
    .sort((a, b) => q.compare(a, b))
    .map((r) => r.workflowId);
}

function assertInvalid(query: string, message: RegExp): void {
  assert.throws(
    () => compileListQuery(query, types),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'InvalidArgument');
      assert.match(err.message, /^invalid query: /);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('visibility list query: filters', () => {
  it('empty query matches everything, default order is open first then newest', () => {
    assert.deepEqual(ids(''), ['other-d', 'wf-a', 'wf-c', 'wf-b']);
    assert.deepEqual(ids('   '), ['other-d', 'wf-a', 'wf-c', 'wf-b']);
  });

  it('equality and inequality on system keyword attributes', () => {
    assert.deepEqual(ids(`WorkflowId = 'wf-a'`), ['wf-a']);
    assert.deepEqual(ids(`WorkflowId="wf-b"`), ['wf-b']);
    assert.deepEqual(ids(`WorkflowType != 'migrateTable'`), ['wf-b']);
    assert.deepEqual(ids(`RunId = 'run-wf-c'`), ['wf-c']);
    assert.deepEqual(ids(`TaskQueue = 'other'`), ['wf-c']);
    assert.deepEqual(ids(`WorkflowId <> 'wf-a' AND TaskQueue = 'migrations'`), ['other-d', 'wf-b']);
  });

  it('ExecutionStatus by name, full enum name and number', () => {
    assert.deepEqual(ids(`ExecutionStatus = 'Running'`), ['other-d', 'wf-a']);
    assert.deepEqual(ids(`ExecutionStatus = 'Completed'`), ['wf-b']);
    assert.deepEqual(ids(`ExecutionStatus = "WORKFLOW_EXECUTION_STATUS_FAILED"`), ['wf-c']);
    assert.deepEqual(ids(`ExecutionStatus = 3`), ['wf-c']);
    assert.deepEqual(ids(`ExecutionStatus IN ('Completed', 'Failed')`), ['wf-c', 'wf-b']);
    assert.deepEqual(ids(`ExecutionStatus NOT IN ('Running')`), ['wf-c', 'wf-b']);
    assert.deepEqual(ids(`ExecutionStatus != 'Running'`), ['wf-c', 'wf-b']);
    assertInvalid(`ExecutionStatus = 'Sleeping'`, /invalid ExecutionStatus value 'Sleeping'/);
  });

  it('IN / NOT IN on keywords', () => {
    assert.deepEqual(ids(`WorkflowId IN ('wf-a', 'wf-c', 'nope')`), ['wf-a', 'wf-c']);
    assert.deepEqual(ids(`WorkflowId NOT IN ('wf-a', 'wf-c')`), ['other-d', 'wf-b']);
  });

  it('AND binds tighter than OR; parentheses override', () => {
    assert.deepEqual(ids(`WorkflowId = 'wf-a' OR WorkflowId = 'wf-b' AND ExecutionStatus = 'Running'`), [
      'wf-a',
    ]);
    assert.deepEqual(ids(`(WorkflowId = 'wf-a' OR WorkflowId = 'wf-b') AND ExecutionStatus = 'Completed'`), [
      'wf-b',
    ]);
    assert.deepEqual(ids(`((WorkflowId = 'wf-a'))`), ['wf-a']);
  });

  it('NOT negates, with SQL NULL semantics for missing attributes', () => {
    assert.deepEqual(ids(`NOT WorkflowId = 'wf-a'`), ['other-d', 'wf-c', 'wf-b']);
    assert.deepEqual(ids(`NOT (ExecutionStatus = 'Running' OR WorkflowType = 'cutover')`), ['wf-c']);
    // A missing keyword is NULL: neither `=` nor `!=` nor their negation matches.
    assert.deepEqual(ids(`CustomKeyword != 'alpha'`), ['wf-b']);
    assert.deepEqual(ids(`NOT CustomKeyword = 'alpha'`), ['wf-b']);
  });

  it('keyword keywords are case-insensitive, names are case-sensitive', () => {
    assert.deepEqual(
      ids(
        `WorkflowId = 'wf-a' and executionstatus = 'Running'`.replace('executionstatus', 'ExecutionStatus'),
      ),
      ['wf-a'],
    );
    assert.deepEqual(ids(`WorkflowId in ('wf-a') or WorkflowId is null`), ['wf-a']);
    assertInvalid(`workflowid = 'wf-a'`, /column name 'workflowid' is not a valid search attribute/);
  });

  it('STARTS_WITH and NOT STARTS_WITH on keywords', () => {
    assert.deepEqual(ids(`WorkflowId STARTS_WITH 'wf-'`), ['wf-a', 'wf-c', 'wf-b']);
    assert.deepEqual(ids(`WorkflowId NOT STARTS_WITH 'wf-'`), ['other-d']);
    assert.deepEqual(ids(`CustomKeyword starts_with 'al'`), ['wf-a']);
  });

  it('datetime comparisons, BETWEEN and IS NULL', () => {
    assert.deepEqual(ids(`StartTime > '2026-01-02T10:00:00Z'`), ['other-d', 'wf-c']);
    assert.deepEqual(ids(`StartTime >= '2026-01-02T10:00:00Z'`), ['other-d', 'wf-c', 'wf-b']);
    assert.deepEqual(ids(`StartTime < "2026-01-02T12:00:01+02:00"`), ['wf-a', 'wf-b']);
    assert.deepEqual(ids(`StartTime BETWEEN '2026-01-02T00:00:00Z' AND '2026-01-03T23:59:59.999Z'`), [
      'wf-c',
      'wf-b',
    ]);
    assert.deepEqual(ids(`StartTime NOT BETWEEN '2026-01-02T00:00:00Z' AND '2026-01-03T23:59:59Z'`), [
      'other-d',
      'wf-a',
    ]);
    assert.deepEqual(ids(`CloseTime IS NULL`), ['other-d', 'wf-a']);
    assert.deepEqual(ids(`CloseTime IS NOT NULL`), ['wf-c', 'wf-b']);
    assert.deepEqual(ids(`CloseTime > '2026-01-03T00:00:00Z'`), ['wf-c']);
    assert.deepEqual(ids(`ExecutionTime = '2026-01-01T10:00:00Z'`), ['wf-a']);
    assert.deepEqual(ids(`CustomDatetime < '2026-03-01T00:00:00Z'`), ['wf-a']);
    assertInvalid(`StartTime > 'yesterday'`, /unable to parse datetime 'yesterday'/);
  });

  it('ExecutionDuration accepts durations', () => {
    assert.deepEqual(ids(`ExecutionDuration > '45m'`), ['wf-b']);
    assert.deepEqual(ids(`ExecutionDuration <= "00:30:00"`), ['wf-c']);
    assert.deepEqual(ids(`ExecutionDuration = 1800000000000`), ['wf-c']);
  });

  it('custom Int/Double/Bool attributes', () => {
    assert.deepEqual(ids(`CustomInt > 5`), ['wf-c', 'wf-b']);
    assert.deepEqual(ids(`CustomInt >= 5 AND CustomInt <= 10`), ['wf-a', 'wf-b']);
    assert.deepEqual(ids(`CustomInt BETWEEN 6 AND 20`), ['wf-c', 'wf-b']);
    assert.deepEqual(ids(`CustomInt IN (5, 20)`), ['wf-a', 'wf-c']);
    assert.deepEqual(ids(`CustomInt = -1`), []);
    assert.deepEqual(ids(`CustomDouble < 2.0`), ['wf-a']);
    assert.deepEqual(ids(`CustomDouble = 1.5`), ['wf-a']);
    assert.deepEqual(ids(`CustomBool = true`), ['wf-a']);
    assert.deepEqual(ids(`CustomBool = FALSE`), ['other-d']);
    assert.deepEqual(ids(`CustomBool IS NULL`), ['wf-c', 'wf-b']);
  });

  it('legacy array-wrapped values are unwrapped', () => {
    const legacy = [rec('x', {}, { CustomInt: [7], CustomKeyword: ['k'] })];
    assert.deepEqual(ids(`CustomInt = 7 AND CustomKeyword = 'k'`, legacy), ['x']);
  });

  it('KeywordList: = means contains, IN means contains any, != / NOT IN match missing', () => {
    assert.deepEqual(ids(`CustomList = 'green'`), ['wf-a']);
    assert.deepEqual(ids(`CustomList IN ('blue', 'green')`), ['wf-a', 'wf-b']);
    assert.deepEqual(ids(`CustomList != 'green'`), ['other-d', 'wf-c', 'wf-b']);
    assert.deepEqual(ids(`CustomList NOT IN ('blue', 'green')`), ['other-d', 'wf-c']);
    assert.deepEqual(ids(`CustomList IS NOT NULL`), ['wf-a', 'wf-b']);
  });

  it('Text: matches whole words (any of the query words), case-insensitive', () => {
    assert.deepEqual(ids(`CustomText = 'orders'`), ['wf-a']);
    assert.deepEqual(ids(`CustomText = 'ORDERS'`), ['wf-a']);
    assert.deepEqual(ids(`CustomText = 'order'`), []);
    assert.deepEqual(ids(`CustomText = 'finished nothing'`), ['wf-b']);
    assert.deepEqual(ids(`CustomText = 'cut-over'`), ['wf-b']);
    assert.deepEqual(ids(`CustomText != 'orders'`), ['other-d', 'wf-c', 'wf-b']);
  });

  it('predefined attributes and the ScheduleId alias', () => {
    assert.deepEqual(ids(`TemporalScheduledById = 'nightly'`), ['wf-c']);
    assert.deepEqual(ids(`ScheduledById = 'nightly'`), ['wf-c']);
    assert.deepEqual(ids(`ScheduleId = 'wf-b'`), ['wf-b']);
  });

  it('backtick-quoted names and string escapes', () => {
    assert.deepEqual(ids("`WorkflowId` = 'wf-a'"), ['wf-a']);
    const quoted = [rec("it's", {}, {}), rec('say "hi"', {}, {})];
    assert.deepEqual(ids(`WorkflowId = 'it''s'`, quoted), ["it's"]);
    assert.deepEqual(ids(`WorkflowId = 'it\\'s'`, quoted), ["it's"]);
    assert.deepEqual(ids(`WorkflowId = "say ""hi"""`, quoted), ['say "hi"']);
    assert.deepEqual(ids(`WorkflowId = 'say "hi"'`, quoted), ['say "hi"']);
  });
});

describe('visibility list query: ordering and grouping', () => {
  it('ORDER BY ascending and descending, with default order as tie-breaker', () => {
    assert.deepEqual(ids(`ORDER BY StartTime ASC`), ['wf-a', 'wf-b', 'wf-c', 'other-d']);
    assert.deepEqual(ids(`ORDER BY StartTime`), ['wf-a', 'wf-b', 'wf-c', 'other-d']);
    assert.deepEqual(ids(`ExecutionStatus != 'Running' ORDER BY StartTime desc`), ['wf-c', 'wf-b']);
    assert.deepEqual(ids(`order by CustomInt DESC`), ['wf-c', 'wf-b', 'wf-a', 'other-d']);
    assert.deepEqual(ids(`ORDER BY CustomInt ASC`), ['wf-a', 'wf-b', 'wf-c', 'other-d']);
    assert.deepEqual(ids(`ORDER BY WorkflowType DESC, WorkflowId ASC`), ['other-d', 'wf-a', 'wf-c', 'wf-b']);
  });

  it('GROUP BY ExecutionStatus gives status names', () => {
    const q = compileListQuery('GROUP BY ExecutionStatus', types);
    assert.deepEqual(q.groupBy, ['ExecutionStatus']);
    assert.deepEqual(
      records.map((r) => q.groupValues(r)),
      [['Running'], ['Completed'], ['Failed'], ['Running']],
    );
    const r = compileListQuery(`WorkflowType = 'migrateTable' GROUP BY ExecutionStatus`, types);
    assert.equal(records.filter((x) => r.filter(x)).length, 3);
    assert.deepEqual(compileListQuery(`WorkflowId = 'x'`, types).groupBy, []);
  });

  it('a terminated workflow sorts by close time among closed ones', () => {
    const extra = [
      ...records,
      rec('wf-e', {
        status: TERMINATED,
        startTime: new Date('2025-12-31T00:00:00Z'),
        closeTime: new Date('2026-01-05T00:00:00Z'),
      }),
    ];
    assert.deepEqual(ids('', extra), ['other-d', 'wf-a', 'wf-e', 'wf-c', 'wf-b']);
  });
});

describe('visibility list query: errors', () => {
  it('unknown attribute', () => {
    assertInvalid(`NoSuchThing = 'x'`, /column name 'NoSuchThing' is not a valid search attribute/);
    assertInvalid(`ORDER BY NoSuchThing`, /'NoSuchThing' is not a valid search attribute/);
  });

  it('type mismatches', () => {
    assertInvalid(`CustomInt = 'five'`, /invalid value type for search attribute CustomInt of type Int/);
    assertInvalid(
      `CustomKeyword = 5`,
      /invalid value type for search attribute CustomKeyword of type Keyword/,
    );
    assertInvalid(`CustomBool = 'true'`, /of type Bool/);
    assertInvalid(`WorkflowId IN ('a', 3)`, /of type Keyword/);
  });

  it('operators not supported for a type', () => {
    assertInvalid(
      `CustomText > 'a'`,
      /operator '>' not supported for Text type search attribute 'CustomText'/,
    );
    assertInvalid(`CustomList < 'a'`, /operator '<' not supported for KeywordList/);
    assertInvalid(`CustomInt STARTS_WITH '1'`, /operator 'STARTS_WITH' not supported for Int/);
    assertInvalid(`CustomText IN ('a')`, /operator 'IN' not supported for Text/);
    assertInvalid(
      `CustomBool BETWEEN true AND false`,
      /cannot do range condition on search attribute 'CustomBool'/,
    );
    assertInvalid(`WorkflowId LIKE 'wf%'`, /operation is not supported: operator 'LIKE'/);
    assertInvalid(`ORDER BY CustomText`, /unable to sort by search attribute type Text/);
    assertInvalid(
      `GROUP BY WorkflowType`,
      /'GROUP BY' clause is not supported for search attribute WorkflowType/,
    );
    assertInvalid(`WorkflowId = 'a' LIMIT 10`, /'LIMIT' clause/);
  });

  it('syntax errors', () => {
    assertInvalid(`WorkflowId = 'unterminated`, /malformed SQL query: unterminated string/);
    assertInvalid(`WorkflowId =`, /malformed SQL query: syntax error.*end of query/);
    assertInvalid(`WorkflowId = 'a' AND`, /malformed SQL query/);
    assertInvalid(`(WorkflowId = 'a'`, /malformed SQL query/);
    assertInvalid(`WorkflowId = 'a')`, /malformed SQL query: syntax error at position 17 near '\)'/);
    assertInvalid(`WorkflowId 'a'`, /malformed SQL query/);
    assertInvalid(`WorkflowId`, /incomplete expression/);
    assertInvalid(`WorkflowId = a`, /did you forget to quote 'a'/);
    assertInvalid(`'a' = WorkflowId`, /must be a column name/);
    assertInvalid(`WorkflowId IS 'a'`, /'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'/);
    assertInvalid(`WorkflowId = 'a' # comment`, /malformed SQL query/);
    assertInvalid('`` = 1', /empty quoted name/);
  });
});
