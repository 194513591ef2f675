import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine } from './support/cli.js';
import { useWorld } from './support/world.js';

// Every input a user or a remote system can get wrong: each gets a clear
// error naming it, or goes to the dead-letter sink with the reason, and
// nothing else is lost.

const world = useWorld('bad');
const { streams, vhost } = world;
const connections = () => world.connections();

/** A config with the four connections and one flow named `f` of the given lines. */
function flowConfig(...lines: string[]): string {
  return configFile([connections(), 'flows:', '  f:', ...lines.map((l) => `    ${l}`)].join('\n'));
}

describe('bad config: exit 2, and the message names the field, the value and what is allowed', () => {
  const cases: [name: string, lines: string[], message: RegExp][] = [
    [
      'a batch size of 0',
      ['source: { stream: a }', 'sink: { stream: b }', 'batchSize: 0'],
      /flows\.f\.batchSize: Too small: expected number to be >0 \(got 0\)/,
    ],
    [
      'a batch size that is text',
      ['source: { stream: a }', 'sink: { stream: b }', 'batchSize: lots'],
      /flows\.f\.batchSize: Invalid input: expected number, received string \(got "lots"\)/,
    ],
    [
      'a negative maxBatches',
      ['source: { stream: a }', 'sink: { stream: b }', 'maxBatches: -3'],
      /flows\.f\.maxBatches: Too small.*\(got -3\)/,
    ],
    [
      'an unknown whenFull',
      ['source: { stream: a }', 'sink: { stream: b }', 'whenFull: block'],
      /flows\.f\.whenFull: Invalid option: expected one of "wait"\|"stop" \(got "block"\)/,
    ],
    [
      'a misspelled flow key',
      ['source: { stream: a }', 'sink: { stream: b }', 'batchsize: 10'],
      /flows\.f: Unrecognized key: "batchsize"/,
    ],
    [
      'a negative retry count',
      ['source: { stream: a }', 'sink: { stream: b }', 'retry: { retries: -1 }'],
      /flows\.f\.retry\.retries: Too small.*\(got -1\)/,
    ],
    [
      'an unknown connection',
      ['source: { connection: nowhere, stream: a }', 'sink: { stream: b }'],
      /flows\.f\.source\.connection: no connection named "nowhere"/,
    ],
    [
      'an M2C edge',
      ['source: { connection: mongo, collection: c }', 'sink: { connection: clickhouse, table: t }'],
      /edge M2C is not permitted: MongoDB and ClickHouse are both stores.*M2S then S2C, or M2Q then Q2C/,
    ],
    [
      'an unknown Redis source mode',
      ['source: { stream: a, mode: bogus }', 'sink: { stream: b }'],
      /mode: Invalid option: expected one of "range"\|"group" \(got "bogus"\)/,
    ],
    [
      'a Redis sink without a stream',
      ['source: { stream: a }', 'sink: { maxLen: 5 }'],
      /stream: Invalid input: expected string, received undefined/,
    ],
    [
      'a RabbitMQ sink with both queue and exchange',
      ['source: { stream: a }', 'sink: { connection: rabbit, queue: q, exchange: x }'],
      /exchange: give either queue or exchange, not both/,
    ],
    [
      'a RabbitMQ codec it does not have',
      ['source: { connection: rabbit, queue: q, codec: xml }', 'sink: { stream: b }'],
      /codec: Invalid option: expected one of "json"\|"raw" \(got "xml"\)/,
    ],
    [
      'a ClickHouse table name with a semicolon',
      ['source: { stream: a }', 'sink: { connection: clickhouse, table: "t; DROP TABLE x" }'],
      /table.*"t; DROP TABLE x"/,
    ],
    [
      'a ClickHouse column with a backtick',
      ['source: { connection: clickhouse, table: t, cursor: "id`" }', 'sink: { stream: b }'],
      /cursor.*"id`"/,
    ],
    [
      'a MongoDB sink without a collection',
      ['source: { stream: a }', 'sink: { connection: mongo }'],
      /collection: Invalid input: expected string, received undefined/,
    ],
  ];
  for (const [name, lines, message] of cases) {
    it(name, async () => {
      const run = await ferry(['validate', flowConfig(...lines)]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
    });
  }

  it('an unset environment variable', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
    const text = 'connections:\n  default: { kind: redis-stream, url: "redis://${FERRY_BAD_UNSET}:6379" }\nflows: {}\n';
    const file = configFile(text);
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/FERRY_BAD_UNSET/);
  });

  it('a YAML syntax error, with its line', async () => {
    const run = await ferry([
      'validate',
      configFile('connections:\n  default: { kind: redis-stream, url: "x"\nflows: [\n'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/line \d+/);
  });

  it('a control store that is not Redis', async () => {
    const file = configFile(`${connections()}\ncontrol: { url: "http://127.0.0.1:1" }\nflows: {}\n`);
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('control.url: expected a redis:// or rediss:// URL (got "http://127.0.0.1:1")');
  });
});

describe('bad records: dead-lettered with the reason, the rest moved, nothing lost', () => {
  /** Runs flow `f` with a dead-letter stream; resolves with what reached the sink side and the letters. */
  let letterStreams = 0;
  async function runWithLetters(...lines: string[]) {
    letterStreams += 1;
    const dead = streams.name(`bad.dead.${letterStreams}`);
    const run = await ferry(['run', flowConfig(...lines, `deadLetter: { stream: ${dead}, codec: json }`), 'f']);
    expect(run.code, run.stderr).toBe(0);
    const letters = (await streams.entries(dead)).map((e) => JSON.parse(e.data!) as Record<string, unknown>);
    return { run, letters };
  }

  it('AMQP bodies that are not a JSON object: text, an array, bytes that are not UTF-8', async () => {
    const queue = streams.name('bad.q');
    const out = streams.name('bad.q.out');
    const binary = Buffer.from([0xff, 0x00, 0xfe]);
    await vhost.publish(queue, ['{"n":1}', 'not json', '[1,2]', binary, '{"n":5}'], ['a1', 'a2', 'a3', 'a4', 'a5']);
    const { run, letters } = await runWithLetters(
      `source: { connection: rabbit, queue: ${queue} }`,
      `sink: { stream: ${out} }`,
    );
    expect(lastLine(run.stdout)).toMatch(/^moved 2 records .*; dead-lettered 3;/);
    expect((await streams.entries(out)).map((e) => e._source_id)).toEqual(['a1', 'a5']);
    expect(letters.map((l) => l.sourceId)).toEqual(['a2', 'a3', 'a4']);
    expect(letters.map((l) => l.reason)).toEqual([
      expect.stringMatching(/not JSON/),
      expect.stringMatching(/array/),
      expect.stringMatching(/not JSON|UTF-8/),
    ]);
    expect(Buffer.from(letters[2]!.original as string, 'base64')).toEqual(binary);
    expect(await vhost.count(queue)).toBe(0);
  });

  it('a binary AMQP body with the raw codec moves as base64 with its content type, byte for byte', async () => {
    const queue = streams.name('raw.q');
    const out = streams.name('raw.q.out');
    const binary = randomBytes(64);
    await vhost.publish(queue, [binary], ['r1']);
    const run = await ferry([
      'run',
      flowConfig(
        `source: { connection: rabbit, queue: ${queue}, codec: raw }`,
        `sink: { stream: ${out}, codec: json }`,
      ),
      'f',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const [entry] = await streams.entries(out);
    expect(Buffer.from((JSON.parse(entry!.data!) as { data: string }).data, 'base64')).toEqual(binary);
  });

  it('a string into a ClickHouse UInt64 column: that row dead-lettered with the server message', async () => {
    const from = streams.name('ch.in');
    const table = await world.table('n UInt64, _source_id String', 'n');
    const pipeline = streams.redis.pipeline();
    for (const n of ['1', '2', 'three', '4']) pipeline.xadd(from, '*', 'n', n);
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const { letters } = await runWithLetters(
      `source: { stream: ${from} }`,
      `sink: { connection: clickhouse, table: ${table} }`,
    );
    const rows = await (
      await world.ch.query({ query: `SELECT n FROM default.\`${table}\` ORDER BY n`, format: 'JSONEachRow' })
    ).json<{ n: string }>();
    expect(rows.map((r) => Number(r.n))).toEqual([1, 2, 4]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ sourceId: ids[2], reason: expect.stringMatching(/three|UInt64|parse/i) });
    expect(await streams.len(from)).toBe(0);
  });

  it('MongoDB: a document over 16 MiB and a top-level $ field dead-lettered, the rest written', async () => {
    const from = streams.name('mongo.in');
    const collection = streams.name('mongo.docs');
    const pipeline = streams.redis.pipeline();
    pipeline.xadd(from, '*', 'n', '1');
    pipeline.xadd(from, '*', 'big', 'x'.repeat(17 * 1024 * 1024));
    pipeline.xadd(from, '*', '$where', 'evil');
    pipeline.xadd(from, '*', 'n', '4');
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const { letters } = await runWithLetters(
      `source: { stream: ${from} }`,
      `sink: { connection: mongo, collection: ${collection} }`,
    );
    const docs = await world.db.collection(collection).find({}).toArray();
    expect(docs.map((d) => String(d._id)).sort()).toEqual([ids[0], ids[3]].sort());
    const reasons = new Map(letters.map((l) => [l.sourceId, l.reason]));
    expect([...reasons.keys()].sort()).toEqual([ids[1], ids[2]].sort());
    expect(reasons.get(ids[1])).toMatch(/16 ?MiB|too large|larger than/i);
    expect(reasons.get(ids[2])).toMatch(/\$where/);
    expect(await streams.len(from)).toBe(0);
  });

  it('a Redis entry the json codec cannot decode, and a value a stream entry cannot hold', async () => {
    const from = streams.name('json.in');
    const out = streams.name('json.out');
    const pipeline = streams.redis.pipeline();
    pipeline.xadd(from, '*', 'data', '{"n":1}');
    pipeline.xadd(from, '*', 'data', 'not json {');
    pipeline.xadd(from, '*', 'data', '{}');
    pipeline.xadd(from, '*', 'data', '{"n":4}');
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const { letters } = await runWithLetters(
      `source: { stream: ${from}, codec: json }`,
      `sink: { stream: ${out}, sourceIdField: false }`,
    );
    expect((await streams.entries(out)).map((e) => e.n)).toEqual(['1', '4']);
    expect(letters.map((l) => l.sourceId)).toEqual([ids[1], ids[2]]);
    expect(letters[0]!.reason).toMatch(/cannot be decoded: field "data" is not JSON/);
    expect(letters[1]!.reason).toBe('the value has no fields, and a stream entry needs at least one');
    expect(await streams.len(from)).toBe(0);
  });

  it('a huge value and bytes that are not UTF-8 move intact', async () => {
    const from = streams.name('huge.in');
    const out = streams.name('huge.out');
    const huge = randomBytes(4 * 1024 * 1024).toString('base64');
    const binary = Buffer.from([0xc3, 0x28, 0x00, 0xff]);
    await streams.redis.xadd(from, '*', 'huge', huge);
    await streams.redis.xadd(from, '*', 'bytes', binary);
    const run = await ferry(['run', flowConfig(`source: { stream: ${from} }`, `sink: { stream: ${out} }`), 'f']);
    expect(run.code, run.stderr).toBe(0);
    const entries = (await streams.redis.xrangeBuffer(out, '-', '+')) as [Buffer, Buffer[]][];
    expect(entries[0]![1][1]!.toString()).toBe(huge);
    expect(entries[1]![1][1]).toEqual(binary);
  });

  it('an empty source is an empty run, not an error', async () => {
    const run = await ferry([
      'run',
      flowConfig(`source: { stream: ${streams.name('empty.in')} }`, `sink: { stream: ${streams.name('empty.out')} }`),
      'f',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 0 records .*; stopped: source empty$/);
  });
});
