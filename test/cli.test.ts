import { afterAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
afterAll(() => streams.cleanup());

const finalLine = /^moved (\d+) records in \d+\.\d\d s \([\d,]+ records\/s\); stopped: (.+)$/;

function s2sConfig(source: string, sink: string, flow: string, extra = ''): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "\${FERRY_E2E_REDIS:-${redisUrl}}" }`,
      'flows:',
      '  s2s:',
      `    source: { connection: default, stream: ${source}, mode: range }`,
      `    sink: { connection: default, stream: ${sink}${flow} }`,
      '    batchSize: 1000',
      extra,
    ].join('\n'),
  );
}

describe('ferry run (S2S against real Redis)', () => {
  it('moves 10,000 messages from a config file, every one once, with its source id', async () => {
    const source = streams.name('big.in');
    const sink = streams.name('big.out');
    const ids = await streams.seed(source, 10_000);
    const file = s2sConfig(source, sink, ', maxLen: 100000');

    const run = await ferry(['run', file, 's2s']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lastLine(run.stdout)).toMatch(finalLine);
    expect(lastLine(run.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);

    expect(await streams.len(source)).toBe(0);
    expect(await streams.len(sink)).toBe(10_000);
    const out = await streams.entries(sink);
    out.forEach((entry, i) => {
      expect(entry).toEqual({ n: String(i), name: `msg-${i}`, tags: '["e2e"]', _source_id: ids[i] });
    });
  });

  it('runs a one-off flow described by flags only, and prints JSON with --json', async () => {
    const source = streams.name('flags.in');
    const sink = streams.name('flags.out');
    await streams.seed(source, 1500);
    const run = await ferry([
      'run',
      '--source-url',
      redisUrl,
      '--source',
      `stream=${source}`,
      '--source',
      'mode=range',
      '--sink',
      `stream=${sink}`,
      '--sink',
      'maxLen=100000',
      '--batch-size',
      '500',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(lastLine(run.stdout));
    expect(result).toMatchObject({ flow: 'one-off', edge: 'S2S', records: 1500, batches: 3, stopReason: 'empty' });
    expect(await streams.len(source)).toBe(0);
    expect(await streams.len(sink)).toBe(1500);
  });

  it('stops after maxBatches batches', async () => {
    const source = streams.name('max.in');
    const sink = streams.name('max.out');
    await streams.seed(source, 1000);
    const file = s2sConfig(source, sink, '', '    maxBatches: 10');
    // A flag overrides the file's batchSize; the file's maxBatches stays.
    const run = await ferry(['run', file, 's2s', '--batch-size', '30']);
    expect(run.code).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 300 records .*; stopped: maxBatches reached$/);
    expect(await streams.len(sink)).toBe(300);
    expect(await streams.len(source)).toBe(700);
  });

  it('stops with "target full" when the sink reaches its maxLen and whenFull is stop', async () => {
    const source = streams.name('full.in');
    const sink = streams.name('full.out');
    await streams.seed(source, 1000);
    const file = s2sConfig(source, sink, ', maxLen: 250', '    whenFull: stop');
    const run = await ferry(['run', file, 's2s', '--batch-size', '100']);
    expect(run.code).toBe(0);
    const match = finalLine.exec(lastLine(run.stdout));
    expect(match?.[2]).toBe('target full');
    const moved = Number(match?.[1]);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(250);
    expect(await streams.len(sink)).toBe(moved);
    expect(await streams.len(source)).toBe(1000 - moved);
  });

  it('stops cleanly on SIGINT in follow mode: exit 130, nothing lost or doubled', async () => {
    const source = streams.name('follow.in');
    const sink = streams.name('follow.out');
    await streams.seed(source, 500);
    const file = s2sConfig(source, sink, '', '    pollIntervalMs: 100');
    const run = await ferry(['run', file, 's2s', '--follow'], {
      onSpawn: (child) => {
        const poll = setInterval(async () => {
          if ((await streams.len(sink)) === 500) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 50);
        child.on('close', () => clearInterval(poll));
      },
    });
    expect(run.code).toBe(130);
    expect(lastLine(run.stdout)).toMatch(/^moved 500 records .*; stopped: cancelled$/);
    expect(await streams.len(source)).toBe(0);
    expect(await streams.len(sink)).toBe(500);
  });
});

describe('ferry run: bad input', () => {
  it('stops on an entry the codec cannot decode, naming it, and acks nothing of its batch', async () => {
    const source = streams.name('bad.in');
    const sink = streams.name('bad.out');
    const pipeline = streams.redis.pipeline();
    for (let i = 0; i < 250; i++) pipeline.xadd(source, '*', 'data', JSON.stringify({ n: i }));
    pipeline.xadd(source, '*', 'data', 'not json {');
    for (let i = 251; i < 351; i++) pipeline.xadd(source, '*', 'data', JSON.stringify({ n: i }));
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        'flows:',
        '  json:',
        `    source: { stream: ${source}, codec: json }`,
        `    sink: { stream: ${sink}, codec: json }`,
        '    batchSize: 100',
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'json']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error: [ferry] flow "json" failed while reading after 2 batches (200 records): [redis-stream] record ${ids[250]} rejected: entry of stream "${source}" cannot be decoded: field "data" is not JSON`,
    );
    expect(run.stderr).toContain('no dead-letter sink is set, so nothing of its batch was acked');
    // The two batches before it moved; the batch holding it is still whole at the source.
    expect(await streams.len(sink)).toBe(200);
    expect(await streams.len(source)).toBe(151);
    expect((await streams.entries(source))[0]).toEqual({ data: JSON.stringify({ n: 200 }) });
  });

  it('sends an entry the codec cannot decode to the dead-letter stream, with the reason, and moves the rest', async () => {
    const source = streams.name('dlq.in');
    const sink = streams.name('dlq.out');
    const dlq = streams.name('dlq.dead');
    const pipeline = streams.redis.pipeline();
    for (let i = 0; i < 250; i++) pipeline.xadd(source, '*', 'data', JSON.stringify({ n: i }));
    pipeline.xadd(source, '*', 'data', 'not json {');
    for (let i = 251; i < 351; i++) pipeline.xadd(source, '*', 'data', JSON.stringify({ n: i }));
    const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        'flows:',
        '  json:',
        `    source: { stream: ${source}, codec: json }`,
        `    sink: { stream: ${sink}, codec: json }`,
        `    deadLetter: { stream: ${dlq}, codec: json }`,
        '    batchSize: 100',
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(lastLine(run.stdout)).toMatch(/^moved 350 records .*; dead-lettered 1; stopped: source empty$/);
    expect(await streams.len(source)).toBe(0);
    expect(await streams.len(sink)).toBe(350);
    const [dead] = await streams.entries(dlq);
    expect(dead!._source_id).toBe(ids[250]);
    expect(JSON.parse(dead!.data!)).toMatchObject({
      reason: expect.stringContaining(`entry of stream "${source}" cannot be decoded: field "data" is not JSON (`),
      sourceId: ids[250],
      source: 'redis-stream',
      flow: 'json',
      original: Buffer.from(JSON.stringify(['data', 'not json {'])).toString('base64'),
    });
  });

  it('exits 2 on a bad config, naming the field and the value', async () => {
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        'flows:',
        '  bad:',
        '    source: { stream: a }',
        '    sink: { stream: b }',
        '    batchSize: -5',
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'bad']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toMatch(/flows\.bad\.batchSize: .*\(got -5\)/);
  });

  it('exits 2 on a connector option it refuses, naming the field and the value', async () => {
    const file = configFile(
      JSON.stringify({
        connections: { default: { kind: 'redis-stream', url: redisUrl } },
        flows: { f: { source: { stream: 'a', mode: 'sideways' }, sink: { stream: 'b' } } },
      }),
      'json',
    );
    const run = await ferry(['run', file, 'f']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/flow "f", source: .*\n.*mode.*"sideways"/);
  });

  it('exits 2 on an M2C flow, saying why and what to do instead', async () => {
    const file = configFile(
      [
        'connections:',
        '  mongo: { kind: mongo, url: "mongodb://127.0.0.1:27017", database: app }',
        '  clickhouse: { kind: clickhouse, url: "http://127.0.0.1:8123", database: default }',
        'flows:',
        '  m2c:',
        '    source: { connection: mongo, collection: events, mode: copy }',
        '    sink: { connection: clickhouse, table: events }',
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'm2c']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/edge M2C is not permitted: MongoDB and ClickHouse are both stores/);
    expect(run.stderr).toMatch(/M2S then S2C, or M2Q then Q2C/);
  });

  it('exits 2 on an unknown flag or a missing argument', async () => {
    const unknown = await ferry(['run', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--bogus/);
    const missing = await ferry(['run', configFile('flows: {}\n')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing <flow-name>/);
  });

  it('exits 1 within seconds when Redis cannot be reached, naming host:port', async () => {
    const file = configFile(
      [
        'connections:',
        '  nowhere: { kind: redis-stream, url: "redis://127.0.0.1:1" }',
        'flows:',
        '  f:',
        '    source: { connection: nowhere, stream: a }',
        '    sink: { connection: nowhere, stream: b }',
        '    retry: { retries: 1 }',
      ].join('\n'),
    );
    const run = await ferry(['run', file, 'f'], { timeoutMs: 30_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: /);
    expect(run.stderr).toMatch(/127\.0\.0\.1:1\b/);
    expect(run.ms).toBeLessThan(10_000);
  });
});

describe('ferry validate and edges', () => {
  it('says ok with the flows and their edges', async () => {
    const file = s2sConfig('a', 'b', ', maxLen: 10');
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('ok: 1 flow (s2s S2S)\n');
  });

  it('lists the problems of each flow and exits 2', async () => {
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        '  rabbit: { kind: rabbitmq, url: "amqp://127.0.0.1:5672" }',
        'flows:',
        '  good: { source: { stream: a }, sink: { stream: b } }',
        '  nostream: { source: { stream: a }, sink: { maxLen: 5 } }',
        '  s2q: { source: { stream: a }, sink: { connection: rabbit, queue: q, exchange: x } }',
      ].join('\n'),
    );
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/2 of 3 flows .* cannot run/);
    expect(run.stderr).toMatch(/nostream \(S2S\):\n.*flow "nostream", sink: .*\n.*stream/);
    expect(run.stderr).toMatch(
      /s2q \(S2Q\):\n.*flow "s2q", sink: .*\n.*exchange: give either queue or exchange, not both/,
    );
  });

  it('refuses a flow whose sink is its source, on validate and on run, touching nothing', async () => {
    const loop = streams.name('loop');
    await streams.seed(loop, 5);
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `  again: { kind: redis-stream, url: "${redisUrl.replace('127.0.0.1', 'localhost')}/0" }`,
        '  rabbit: { kind: rabbitmq, url: "amqp://127.0.0.1:5672" }',
        'flows:',
        `  same: { source: { stream: ${loop} }, sink: { stream: ${loop} } }`,
        `  aliased: { source: { stream: ${loop} }, sink: { connection: again, stream: ${loop} } }`,
        '  q2q: { source: { connection: rabbit, queue: q }, sink: { connection: rabbit, queue: q } }',
        `  fine: { source: { stream: ${loop} }, sink: { stream: ${loop}.out } }`,
      ].join('\n'),
    );
    const validate = await ferry(['validate', file]);
    expect(validate.code).toBe(2);
    expect(validate.stderr).toMatch(/3 of 4 flows .* cannot run/);
    expect(validate.stderr).toMatch(
      new RegExp(
        `flow "same": its sink is its source, stream "${loop}" on 127\\.0\\.0\\.1:6379/0 \\(connection "default"\\)`,
      ),
    );
    expect(validate.stderr).toMatch(
      /flow "aliased": its sink is its source, .*\(connections "default" and "again", one server\)/,
    );
    expect(validate.stderr).toMatch(/flow "q2q": its sink is its source, queue "q" on 127\.0\.0\.1:5672\/\//);

    const run = await ferry(['run', file, 'aliased']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: .*flow "aliased": its sink is its source/);
    const flags = await ferry([
      'run',
      '--source-url',
      redisUrl,
      '--source',
      `stream=${loop}`,
      '--sink',
      `stream=${loop}`,
    ]);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toMatch(/its sink is its source, stream "/);
    expect(await streams.len(loop)).toBe(5);
  });

  it('names an unset environment variable and where it is used', async () => {
    const file = configFile(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} syntax
      'connections:\n  default: { kind: redis-stream, url: "redis://${FERRY_E2E_UNSET_HOST}:6379" }\nflows: {}\n',
    );
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/connections\.default\.url uses \$\{FERRY_E2E_UNSET_HOST\}, which is not set/);
  });

  it('prints the edge matrix', async () => {
    const run = await ferry(['edges']);
    expect(run.code).toBe(0);
    // Two stores exchange nothing directly: M2C and C2M, and as many more as other stores are registered.
    const systems = run.stdout.match(/^ {2}[A-Z] {2}.*\(kind [a-z-]+, a (store|stream)\)$/gm) ?? [];
    const stores = systems.filter((line) => line.endsWith('a store)')).length;
    expect(systems.length).toBeGreaterThanOrEqual(4);
    expect(run.stdout).toContain(
      `${systems.length ** 2 - stores * (stores - 1)} of ${systems.length ** 2} edges permitted`,
    );
    expect(run.stdout).toMatch(/C2M: ClickHouse and MongoDB are both stores/);
  });
});
