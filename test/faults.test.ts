import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFile, ferry, lastLine, redisUrl, repoRoot } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
afterAll(() => streams.cleanup());

/** Kills every Redis connection a flow opened under this connection name, as `CLIENT KILL` by an operator would. */
async function killConnections(name: string): Promise<number> {
  const list = (await streams.redis.call('CLIENT', 'LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=ferry:${name} `))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await streams.redis.call('CLIENT', 'KILL', 'ID', id);
  return ids.length;
}

describe('faults mid-flow', () => {
  it('S2S goes on after its Redis connections are killed, and the target holds every record once', async () => {
    const from = streams.name('cut.in');
    const to = streams.name('cut.out');
    const total = 30_000;
    const ids = await streams.seed(from, total / 2);
    const connection = `cut-${process.pid}`;
    const file = configFile(
      [
        'connections:',
        `  ${connection}: { kind: redis-stream, url: "${redisUrl}" }`,
        `control: { url: "${redisUrl}", prefix: ferry-faults-${process.pid} }`,
        'flows:',
        '  s2s:',
        // The read, write, ack path (the same-server move under cut connections: packages/redis-stream).
        `    source: { connection: ${connection}, stream: ${from}, direct: false }`,
        `    sink: { connection: ${connection}, stream: ${to} }`,
        '    batchSize: 100',
        '    pollIntervalMs: 100',
        '    retry: { retries: 10, initialDelayMs: 50, maxDelayMs: 500 }',
      ].join('\n'),
    );
    // Follow mode, so that each cut lands while the flow runs however fast it is: the
    // first after 1,000 records, then the second half is added and cut into again.
    const cuts: number[] = [];
    const run = await ferry(['run', file, 's2s', '--follow'], {
      onSpawn: (child) => {
        let busy = false;
        const poll = setInterval(async () => {
          if (busy) return;
          busy = true;
          const moved = await streams.len(to);
          if (cuts.length === 0 && moved >= 1000) {
            cuts.push(await killConnections(connection));
            ids.push(...(await streams.seed(from, total / 2)));
          } else if (cuts.length === 1 && moved >= total / 2 + 1000) {
            cuts.push(await killConnections(connection));
          } else if (cuts.length === 2 && moved >= total && (await streams.len(from)) === 0) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
          busy = false;
        }, 5);
        child.on('close', () => clearInterval(poll));
      },
    });
    expect(run.code, run.stderr).toBe(130);
    // Each cut hit the flow's connections (its source's and its sink's at least) while it ran.
    expect(cuts).toHaveLength(2);
    for (const killed of cuts) expect(killed).toBeGreaterThanOrEqual(2);
    expect(lastLine(run.stdout)).toMatch(/^moved 30000 records .*; stopped: cancelled$/);
    expect(await streams.len(from)).toBe(0);
    expect((await streams.entries(to)).map((e) => e._source_id)).toEqual(ids);
  });
});

/** A port nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** A ClickHouse of this test's own, so that restarting it disturbs no other test. */
class PrivateClickHouse {
  readonly dir = join(tmpdir(), `ferry-faults-ch-${process.pid}`);
  constructor(
    readonly httpPort: number,
    readonly tcpPort: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  start(): void {
    execFileSync('bash', [join(repoRoot, 'scripts/services.sh'), 'ensure_clickhouse'], {
      env: {
        ...process.env,
        FERRY_CLICKHOUSE_HTTP_PORT: String(this.httpPort),
        FERRY_CLICKHOUSE_TCP_PORT: String(this.tcpPort),
        // No HTTPS listener: its default port is the shared server's.
        FERRY_CLICKHOUSE_HTTPS_PORT: '',
        FERRY_CLICKHOUSE_DIR: this.dir,
      },
      stdio: 'ignore',
      timeout: 90_000,
    });
  }

  kill(): void {
    execFileSync('pkill', ['-9', '-f', `${this.dir}/config.xml`], { stdio: 'ignore' });
  }

  async query(sql: string): Promise<string> {
    const response = await fetch(this.url, { method: 'POST', body: sql });
    if (!response.ok) throw new Error(await response.text());
    return response.text();
  }
}

describe('ClickHouse restarted mid-flow', () => {
  let clickhouse: PrivateClickHouse | undefined;
  afterAll(() => {
    try {
      clickhouse?.kill();
    } catch {
      // Already gone.
    }
    if (clickhouse !== undefined) rmSync(clickhouse.dir, { recursive: true, force: true });
  });

  it('S2C waits for the server to come back, and the table holds every record once', async () => {
    clickhouse = new PrivateClickHouse(await freePort(), await freePort());
    clickhouse.start();
    const table = `faults_${process.pid}`;
    await clickhouse.query(
      `CREATE TABLE default.${table} (n UInt64, name String, tags String, _source_id String) ENGINE = MergeTree ORDER BY n`,
    );
    const from = streams.name('ch.in');
    const total = 30_000;
    const ids = await streams.seed(from, total);
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `  ch: { kind: clickhouse, url: "${clickhouse.url}" }`,
        `control: { url: "${redisUrl}", prefix: ferry-faults-${process.pid} }`,
        'flows:',
        '  s2c:',
        `    source: { stream: ${from} }`,
        `    sink: { connection: ch, table: ${table} }`,
        '    batchSize: 200',
        '    retry: { retries: 30, initialDelayMs: 100, maxDelayMs: 1000 }',
      ].join('\n'),
    );
    const server = clickhouse;
    let restarted: Promise<number> | undefined;
    const run = await ferry(['run', file, 's2c'], {
      timeoutMs: 120_000,
      onSpawn: () => {
        const poll = setInterval(async () => {
          if (restarted !== undefined) return;
          const rows = Number(await server.query(`SELECT count() FROM default.${table}`).catch(() => '0'));
          // A poll still waiting on its count when another killed the server must not kill it again.
          if (rows < 3000 || restarted !== undefined) return;
          clearInterval(poll);
          server.kill();
          // How far the flow had got when the server went down; it comes back a second later.
          restarted = new Promise((resolve) =>
            setTimeout(() => {
              server.start();
              resolve(rows);
            }, 1000),
          );
        }, 20);
      },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(await restarted).toBeLessThan(total);
    expect(lastLine(run.stdout)).toMatch(/^moved 30000 records .*; stopped: source empty$/);
    expect(await streams.len(from)).toBe(0);
    const counts = (await server.query(`SELECT count(), uniqExact(_source_id) FROM default.${table}`)).trim();
    expect(counts).toBe(`${total}\t${total}`);
    const stored = (await server.query(`SELECT _source_id FROM default.${table} ORDER BY n`)).trim().split('\n');
    expect(stored).toEqual(ids);
  });
});
