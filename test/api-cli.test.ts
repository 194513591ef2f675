import { startMongoTestServer } from '@ferry/testkit/mongo-test-server';
import { afterAll, describe, expect, it } from 'vitest';
import { dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

const streams = new TestStreams();
const prefix = uniquePrefix('cli');
const processes: FerryProcess[] = [];
const rabbitHost = process.env.FERRY_RABBITMQ_HOST ?? '127.0.0.1:5672';

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(5000)));
  await dropPrefix(prefix);
  await streams.cleanup();
});

describe('ferry submit, jobs, cancel, doctor', () => {
  it('submits a flow of a config, a worker runs it, jobs lists it', async () => {
    const source = streams.name('submit.in');
    const sink = streams.name('submit.out');
    await streams.seed(source, 1_000);
    const config = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        'flows:',
        '  copy:',
        `    source: { stream: ${source} }`,
        `    sink: { stream: ${sink} }`,
        '    batchSize: 100',
      ].join('\n'),
    );
    const submit = await ferry(['submit', config, 'copy', '--prefix', prefix]);
    expect(submit.stderr).toBe('');
    expect(submit.code).toBe(0);
    const id = submit.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    processes.push(await startFerry('worker', ['--config', config, '--prefix', prefix]));
    await expect.poll(() => streams.len(sink), { timeout: 10_000 }).toBe(1_000);
    await expect
      .poll(async () => {
        const jobs = JSON.parse((await ferry(['jobs', '--prefix', prefix, '--json'])).stdout) as {
          id: string;
          state: string;
        }[];
        return jobs.find((j) => j.id === id)?.state;
      })
      .toBe('completed');
    const table = await ferry(['jobs', '--prefix', prefix, '--state', 'completed']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+copy\\s+completed\\s+1000\\s+empty`, 'm'));

    const unknownFlow = await ferry(['submit', config, 'nope', '--prefix', prefix]);
    expect(unknownFlow.code).toBe(2);
    expect(unknownFlow.stderr).toMatch(/no flow named "nope"/);
    const cancel = await ferry(['cancel', 'no-such-job', '--prefix', prefix]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/no job "no-such-job"/);
  });

  it('doctor checks every connection and prints a table; a dead one fails with exit 1', async () => {
    const good = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        `  rabbit: { kind: rabbitmq, url: "amqp://guest:guest@${rabbitHost}" }`,
      ].join('\n'),
    );
    const ok = await ferry(['doctor', good]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^default\s+redis-stream\s+\S+\s+ok\s+\d+\.\d+/m);
    expect(ok.stdout).toMatch(/^rabbit\s+rabbitmq\s+amqp:\/\/guest:\*\*\*@\S+\s+ok\s+\d+\.\d+/m);
    expect(ok.stdout).not.toContain('guest:guest');

    const bad = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "${redisUrl}" }`,
        '  gone: { kind: redis-stream, url: "redis://127.0.0.1:1" }',
        `  badpass: { kind: rabbitmq, url: "amqp://guest:wrong@${rabbitHost}" }`,
      ].join('\n'),
    );
    const failed = await ferry(['doctor', bad]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^gone\s+redis-stream\s+\S+\s+FAILED\s+-\s+unreachable/m);
    expect(failed.stdout).toMatch(/^badpass\s+rabbitmq\s+\S+\s+FAILED\s+-\s+credentials refused/m);
    expect(failed.stdout).toMatch(/2 of 3 connections failed/);
  });

  it('doctor checks MongoDB through the driver: reachable and version, credentials refused, unreachable', async () => {
    const mongo = await startMongoTestServer();
    try {
      const hostPort = mongo.url.replace('mongodb://', '');
      const config = configFile(
        [
          'connections:',
          `  docs: { kind: mongo, url: "${mongo.url}/app" }`,
          // The test server has no users: every login is refused, as by a mongod without that user.
          `  badlogin: { kind: mongo, url: "mongodb://ferry:s3cret@${hostPort}/app?authSource=admin" }`,
          '  nomongo: { kind: mongo, url: "mongodb://127.0.0.1:1/app" }',
        ].join('\n'),
      );
      const run = await ferry(['doctor', config]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.stdout).toMatch(
        /^docs\s+mongo\s+mongodb:\/\/\S+\s+ok\s+\d+\.\d+\.\d+\s+reachable, ping and buildInfo answered/m,
      );
      expect(run.stdout).toMatch(
        /^badlogin\s+mongo\s+mongodb:\/\/ferry:\*\*\*@\S+\s+FAILED\s+-\s+credentials refused/m,
      );
      expect(run.stdout).toMatch(/^nomongo\s+mongo\s+\S+\s+FAILED\s+-\s+unreachable/m);
      expect(run.stdout).not.toContain('s3cret');
      expect(run.stdout).toMatch(/2 of 3 connections failed/);
    } finally {
      await mongo.close();
    }
  });

  it('serve exits 1 with a clear error when the control store is unreachable', async () => {
    const run = await ferry(['serve', '--redis', 'redis://127.0.0.1:1', '--port', '0'], { timeoutMs: 15_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/control store redis:\/\/127\.0\.0\.1:1 is unreachable/);
  });

  it('serve refuses a bad config with exit 2', async () => {
    const config = configFile('connections:\n  default: { kind: redis-stream }\ncontrol: { url: "http://x" }\n');
    const run = await ferry(['serve', '--config', config, '--port', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/control\.url/);
  });
});
