import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, lastLine, redisUrl } from './support/cli.js';
import { type ClickHouseTarget, chdbHolderPid, chdbTarget, serverTarget } from './support/clickhouse-targets.js';
import { TestVhost } from './support/rabbit.js';
import { TestStreams } from './support/streams.js';

// The C edges through the ferry CLI, against the 18.16 server and against
// ClickHouse 26 embedded (chDB): the test seeds and reads an embedded one with
// its own client, closed while ferry runs, since one process at a time owns its directory.

const streams = new TestStreams();
const vhost = new TestVhost();
const targets = [serverTarget(), chdbTarget()];

beforeAll(async () => {
  await vhost.setUp();
}, 60_000);
afterAll(async () => {
  for (const target of targets) await target.close();
  await streams.cleanup();
  await vhost.tearDown();
}, 60_000);

function config(target: ClickHouseTarget, flows: string): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      `  rabbit: { kind: rabbitmq, url: "${vhost.url}" }`,
      `  ch: { kind: clickhouse, url: "${target.url}", database: default }`,
      'flows:',
      flows,
    ].join('\n'),
  );
}

describe.each(targets)(
  'S2C, C2S, Q2C and C2Q through the ferry CLI against real Redis, RabbitMQ and $name',
  (target) => {
    const table = (label: string, columns: string, orderBy: string) => target.table(label, columns, orderBy);
    const select = <T>(query: string) => target.select<T>(query);
    // Streams and queues of each target's own: the two runs share Redis and RabbitMQ.
    const name = (label: string) => streams.name(`${target.embedded ? 'chdb' : 'server'}.${label}`);

    it('moves 10,000 records S2C, then C2S back: exact counts, values and ids', async () => {
      const origin = name('s2c.in');
      const back = name('c2s.out');
      const events = await table('s2c', '_source_id String, n UInt32, name String, tags String', 'n');
      const ids = await streams.seed(origin, 10_000);
      const file = config(
        target,
        [
          '  s2c:',
          `    source: { stream: ${origin} }`,
          `    sink: { connection: ch, table: ${events} }`,
          '    batchSize: 1000',
          '  c2s:',
          `    source: { connection: ch, table: ${events}, cursor: n, columns: [n, name, tags], jsonColumns: [tags] }`,
          `    sink: { stream: ${back} }`,
          '    batchSize: 1000',
        ].join('\n'),
      );

      const s2c = await ferry(['run', file, 's2c']);
      expect(s2c.stderr).toBe('');
      expect(s2c.code).toBe(0);
      expect(lastLine(s2c.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
      expect(await streams.len(origin)).toBe(0);
      const rows = await select<{ _source_id: string; n: number; name: string; tags: string }>(
        `SELECT * FROM default.\`${events}\` ORDER BY n`,
      );
      expect(rows).toHaveLength(10_000);
      expect(rows.map((row) => row._source_id)).toEqual(ids);
      rows.forEach((row, i) => {
        expect(row).toEqual({ _source_id: ids[i], n: i, name: `msg-${i}`, tags: '["e2e"]' });
      });

      const c2s = await ferry(['run', file, 'c2s']);
      expect(c2s.stderr).toBe('');
      expect(c2s.code).toBe(0);
      expect(lastLine(c2s.stdout)).toMatch(/^moved 10000 records .*; stopped: source empty$/);
      const out = await streams.entries(back);
      expect(out).toHaveLength(10_000);
      // The record id of a ClickHouse row is its cursor value, as text.
      expect(out.map((entry) => entry._source_id)).toEqual(Array.from({ length: 10_000 }, (_, i) => String(i)));
      out.forEach((entry, i) => {
        expect(entry).toMatchObject({ n: String(i), name: `msg-${i}`, tags: '["e2e"]' });
      });
      // Copy mode keeps the rows; a second run finds nothing past the checkpoint.
      const again = await ferry(['run', file, 'c2s']);
      expect(lastLine(again.stdout)).toMatch(/^moved 0 records .*; stopped: source empty$/);
      expect(await streams.len(back)).toBe(10_000);
    });

    it('Q2C then C2Q (move mode): message ids kept as source ids, bodies intact', async () => {
      const from = name('q2c.queue');
      const to = name('c2q.queue');
      const orders = await table('q2c', '_source_id String, id UInt64, kind String, price Float64', 'id');
      await vhost.publish(
        from,
        Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i + 1, kind: 'order', price: i / 2 })),
        Array.from({ length: 300 }, (_, i) => `order-${i}`),
      );
      const file = config(
        target,
        [
          '  q2c:',
          `    source: { connection: rabbit, queue: ${from} }`,
          `    sink: { connection: ch, table: ${orders} }`,
          '    batchSize: 100',
          '  c2q:',
          `    source: { connection: ch, table: ${orders}, cursor: id, mode: move, columns: [id, kind, price] }`,
          `    sink: { connection: rabbit, queue: ${to}, declare: true }`,
          '    batchSize: 70',
        ].join('\n'),
      );
      const q2c = await ferry(['run', file, 'q2c']);
      expect(q2c.stderr).toBe('');
      expect(lastLine(q2c.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
      expect(await vhost.count(from)).toBe(0);
      const rows = await select<{ _source_id: string; id: string }>(
        `SELECT _source_id, id FROM default.\`${orders}\` ORDER BY id`,
      );
      expect(rows.map((row) => row._source_id)).toEqual(Array.from({ length: 300 }, (_, i) => `order-${i}`));

      const c2q = await ferry(['run', file, 'c2q']);
      expect(c2q.stderr).toBe('');
      expect(lastLine(c2q.stdout)).toMatch(/^moved 300 records .*; stopped: source empty$/);
      const messages = await vhost.drain(to);
      expect(messages.map((m) => m.messageId)).toEqual(Array.from({ length: 300 }, (_, i) => String(i + 1)));
      messages.forEach((m, i) => {
        // UInt64 comes out of ClickHouse's JSON as a string, to keep its precision.
        expect(m.body).toEqual({ id: i + 1, kind: 'order', price: i / 2 });
      });
      // Move mode: the acked rows are deleted (a mutation, applied in the background).
      const deadline = Date.now() + 15_000;
      let left = -1;
      while (Date.now() < deadline) {
        left = Number((await select<{ n: string }>(`SELECT count() AS n FROM default.\`${orders}\``))[0]?.n);
        if (left === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(left).toBe(0);
    });

    it('S2C with 3 rows ClickHouse cannot hold among 1,000: 997 inserted, 3 dead-lettered with the reason', async () => {
      const origin = name('s2c.bad');
      const dlq = name('s2c.dlq');
      const events = await table('dlq', '_source_id String, n UInt32, name String', 'n');
      const bad = new Set([10, 500, 999]);
      const pipeline = streams.redis.pipeline();
      for (let i = 0; i < 1000; i++)
        pipeline.xadd(origin, '*', 'n', bad.has(i) ? `bad-${i}` : String(i), 'name', `m-${i}`);
      const ids = ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
      const file = config(
        target,
        [
          '  s2c:',
          `    source: { stream: ${origin} }`,
          `    sink: { connection: ch, table: ${events} }`,
          `    deadLetter: { stream: ${dlq} }`,
          '    batchSize: 1000',
        ].join('\n'),
      );
      const s2c = await ferry(['run', file, 's2c']);
      expect(s2c.stderr).toBe('');
      expect(s2c.code).toBe(0);
      expect(lastLine(s2c.stdout)).toMatch(/^moved 997 records .*; dead-lettered 3; stopped: source empty$/);
      expect(await streams.len(origin)).toBe(0);
      const [count] = await select<{ n: string }>(`SELECT count() AS n FROM default.\`${events}\``);
      expect(Number(count?.n)).toBe(997);
      const dead = await streams.entries(dlq);
      expect(dead.map((entry) => entry.sourceId).sort()).toEqual([ids[10], ids[500], ids[999]].sort());
      for (const entry of dead) {
        expect(entry.source).toBe('redis-stream');
        expect(entry.reason).toMatch(
          /^key "n" → column "n" UInt32 of default\.\w+: text "bad-\d+" is not a number literal$/,
        );
        // The original is the record's value as JSON, its bytes as they were.
        const original = JSON.parse(entry.original!);
        expect(original.n).toMatch(/^bad-(10|500|999)$/);
      }
    });

    it('S2C then C2S: UInt64 18446744073709551615, the Int64 extremes and a Decimal(38, 10) exact both ways', async () => {
      const origin = name('exact.in');
      const back = name('exact.out');
      const exact = await table('exact', '_source_id String, n UInt32, u UInt64, i Int64, d Decimal(38, 10)', 'n');
      const rows = [
        { n: '1', u: '18446744073709551615', i: '-9223372036854775808', d: '1234567890123456789012345678.0123456789' },
        { n: '2', u: '9007199254740993', i: '9223372036854775807', d: '0.1000000000' },
      ];
      const ids: string[] = [];
      for (const row of rows)
        ids.push((await streams.redis.xadd(origin, '*', ...Object.entries(row).flat())) as string);
      const file = config(
        target,
        [
          '  s2c:',
          `    source: { stream: ${origin} }`,
          `    sink: { connection: ch, table: ${exact} }`,
          '  c2s:',
          `    source: { connection: ch, table: ${exact}, cursor: n, columns: [n, u, i, d] }`,
          `    sink: { stream: ${back} }`,
        ].join('\n'),
      );
      const s2c = await ferry(['run', file, 's2c']);
      expect(s2c.stderr).toBe('');
      expect(lastLine(s2c.stdout)).toMatch(/^moved 2 records .*; stopped: source empty$/);
      // As text: 18.16 writes a decimal in JSON as a bare number (a double to the driver), and its toString of a wide Decimal128 is garbled.
      expect(await target.tsv(`SELECT * FROM default.\`${exact}\` ORDER BY n`)).toEqual(
        rows.map((row, at) => [ids[at], row.n, row.u, row.i, row.d]),
      );

      const c2s = await ferry(['run', file, 'c2s']);
      expect(c2s.stderr).toBe('');
      expect(lastLine(c2s.stdout)).toMatch(/^moved 2 records .*; stopped: source empty$/);
      // The types ride along in ferry:types, so that a way back to ClickHouse or MongoDB keeps them.
      const types = JSON.stringify({ '/n': 'integer', '/u': 'integer', '/i': 'integer', '/d': 'decimal' });
      expect(await streams.entries(back)).toEqual(
        rows.map((row) => ({ _source_id: row.n, ...row, 'ferry:types': types })),
      );
    });

    it('refuses a create engine that fetches a URL (exit 2, naming the key): no table, no request, nothing moved', async () => {
      let calls = 0;
      const server = createServer((_request, response) => {
        calls += 1;
        response.end('{"a":"from the url"}\n');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const fetched = `http://127.0.0.1:${(server.address() as AddressInfo).port}/anything`;
        const origin = name('ssrf.in');
        // Never made: nothing to drop.
        const never = `ferry_e2e_ssrf_${process.pid}`;
        await streams.seed(origin, 10);
        const sink = `{ connection: ch, table: ${never}, create: { columns: { a: String }, engine: "URL('${fetched}', JSONEachRow)" } }`;
        const file = config(target, ['  s2c:', `    source: { stream: ${origin} }`, `    sink: ${sink}`].join('\n'));

        const refused = await ferry(['run', file, 's2c']);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain('create.engine: engine "URL" is not allowed: expected one of MergeTree, ');
        expect(await streams.len(origin)).toBe(10);
        expect(await select(`EXISTS TABLE default.\`${never}\``)).toEqual([{ result: 0 }]);
        expect(calls).toBe(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  },
);

interface Snapshot {
  endpoints: { id: string; depth?: number; error?: string }[];
}

describe('one process at a time owns a chDB directory', () => {
  const embedded = targets[1]!;
  const token = 'chdb-owner-token';

  it('ferry run --sink-url chdb:///dir: the kind from the scheme; a chdb url with a host refused, naming it', async () => {
    const origin = streams.name('oneoff.in');
    const events = await embedded.table('oneoff', '_source_id String, n UInt32, name String, tags String', 'n');
    const ids = await streams.seed(origin, 5);
    const flags = (url: string) => [
      'run',
      '--source-url',
      redisUrl,
      '--source',
      `stream=${origin}`,
      '--sink-url',
      url,
      '--sink',
      `table=${events}`,
    ];
    const refused = await ferry(flags(`chdb://data${embedded.directory}`));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `- url: names a host ("data"): an embedded ClickHouse runs in this process and is named by its absolute directory alone, three slashes, as chdb:///var/lib/ferry/chdb (got "chdb://data${embedded.directory}")`,
    );
    const run = await ferry(flags(embedded.url));
    expect(run.stderr).toBe('');
    expect(lastLine(run.stdout)).toMatch(/^moved 5 records .*; stopped: source empty$/);
    expect(await embedded.select(`SELECT _source_id, n FROM default.\`${events}\` ORDER BY n`)).toEqual(
      ids.map((id, n) => ({ _source_id: id, n })),
    );
  });

  it('ferry serve: its worker and its dashboard share the directory in one process', async () => {
    const origin = streams.name('serve.in');
    const events = await embedded.table('serve', '_source_id String, n UInt32, name String, tags String', 'n');
    const ids = await streams.seed(origin, 300);
    const file = config(
      embedded,
      ['  s2c:', `    source: { stream: ${origin} }`, `    sink: { connection: ch, table: ${events} }`].join('\n'),
    );
    const prefix = uniquePrefix('chdb-serve');
    const server = await startFerry('serve', ['--config', file, '--prefix', prefix], { FERRY_API_TOKEN: token });
    try {
      const client = apiClient(server.url, token);
      const submitted = await client.post('/flows', {
        source: { stream: origin },
        sink: { connection: 'ch', table: events },
        batchSize: 100,
      });
      expect(submitted.status, await submitted.clone().text()).toBe(202);
      const job = await client.waitFor(((await submitted.json()) as { id: string }).id);
      expect(job).toMatchObject({ state: 'completed', result: { records: 300, batches: 3, stopReason: 'empty' } });
      await expect
        .poll(
          async () =>
            ((await (await client.get('/ui/snapshot')).json()) as Snapshot).endpoints.find(
              (e) => e.id === `ch/default.${events}`,
            ),
          { timeout: 20_000 },
        )
        .toMatchObject({ depth: 300 });
    } finally {
      await server.stop(5000);
      await dropPrefix(prefix);
    }
    const rows = await embedded.select<{ _source_id: string; n: number }>(
      `SELECT _source_id, n FROM default.\`${events}\` ORDER BY n`,
    );
    expect(rows).toEqual(ids.map((id, n) => ({ _source_id: id, n })));
  });

  it('a second ferry on the directory fails with the reason and the pid; the dashboard in its own process shows it, and the first flow goes on', async () => {
    const directory = embedded.directory!;
    const origin = streams.name('owner.in');
    const events = await embedded.table('owner', '_source_id String, n UInt32, name String, tags String', 'n');
    await streams.seed(origin, 100);
    const file = config(
      embedded,
      [
        '  hold:',
        `    source: { stream: ${origin} }`,
        `    sink: { connection: ch, table: ${events} }`,
        '  other:',
        `    source: { connection: ch, table: ${events}, cursor: n }`,
        `    sink: { stream: ${streams.name('owner.out')} }`,
      ].join('\n'),
    );
    let owner: ChildProcess | undefined;
    const holding = ferry(['run', file, 'hold', '--follow'], {
      onSpawn: (child) => {
        owner = child;
      },
    });
    await expect.poll(() => streams.len(origin), { timeout: 20_000 }).toBe(0);
    expect(chdbHolderPid(directory)).toBe(owner?.pid);

    const second = await ferry(['run', file, 'other']);
    expect(second.code).toBe(1);
    expect(lastLine(second.stderr)).toBe(
      `error: [ferry] flow "other" failed while connecting after 0 batches (0 records): [clickhouse] the embedded ClickHouse in ${directory} is open in another process (pid ${owner?.pid}): one process at a time owns a chDB directory (stop the other process, or give each process a directory of its own)`,
    );
    expect(second.stderr).not.toMatch(/\n\s+at |Cannot lock file/);
    const doctor = await ferry(['doctor', file]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(
      `FAILED  -        [clickhouse] the embedded ClickHouse in ${directory} is open in another process (pid ${owner?.pid})`,
    );

    const prefix = uniquePrefix('chdb');
    const api = await startFerry('api', ['--config', file, '--prefix', prefix], { FERRY_API_TOKEN: token });
    try {
      const client = apiClient(api.url, token);
      const endpoint = async () =>
        ((await (await client.get('/ui/snapshot')).json()) as Snapshot).endpoints.find(
          (e) => e.id === `ch/default.${events}`,
        );
      await expect
        .poll(async () => (await endpoint())?.error, { timeout: 20_000 })
        .toBe(
          `the embedded ClickHouse in ${directory} is open in another process (pid ${owner?.pid}): one process at a time owns a chDB directory (stop the other process, or give each process a directory of its own)`,
        );
      // The flow that owns the directory goes on moving while the dashboard asks.
      await streams.seed(origin, 50);
      await expect.poll(() => streams.len(origin), { timeout: 20_000 }).toBe(0);
      owner?.kill('SIGINT');
      const held = await holding;
      expect(lastLine(held.stdout)).toMatch(/^moved 150 records .*; stopped: cancelled$/);
      // Once free, the dashboard counts the table, opening the directory only for each count.
      await expect.poll(async () => (await endpoint())?.depth, { timeout: 20_000 }).toBe(150);
    } finally {
      await api.stop(5000);
      await dropPrefix(prefix);
    }
    expect(await embedded.select(`SELECT count() AS n FROM default.\`${events}\``)).toEqual([{ n: '150' }]);
  });
});
