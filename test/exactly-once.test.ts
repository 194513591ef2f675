import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { configFile, redisUrl } from './support/cli.js';
import { TestStreams } from './support/streams.js';

// A flow killed with SIGKILL after a write and before its ack, then run again:
// every record exactly once at the sink, whatever the consumer name, and
// whatever endpoint option changed between the crash and the restart.

const fixture = fileURLToPath(new URL('./fixtures/kill-flow.mjs', import.meta.url));
const streams = new TestStreams();
const control = new Redis(redisUrl);
const prefix = `ferry-once-${process.pid}`;

afterAll(async () => {
  const keys = await control.keys(`${prefix}:*`);
  if (keys.length > 0) await control.del(...keys);
  await control.quit();
  await streams.cleanup();
});

function config(flow: string, batch: number, connections = ''): string {
  return configFile(
    [
      'connections:',
      `  default: { kind: redis-stream, url: "${redisUrl}" }`,
      connections,
      `control: { url: "${redisUrl}", prefix: ${prefix} }`,
      'flows:',
      '  flow:',
      flow,
      `    batchSize: ${batch}`,
      '    retry: { retries: 5, initialDelayMs: 50, maxDelayMs: 500 }',
    ]
      .filter((line) => line !== '')
      .join('\n'),
  );
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the flow as `ferry run` does; killAfterWrite > 0 kills it right after that write, before its ack. */
function run(file: string, killAfterWrite = 0): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, file, 'flow', String(killAfterWrite)], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function sourceIds(stream: string): Promise<string[]> {
  return (await streams.entries(stream)).map((e) => e._source_id!);
}

async function journalNotes(): Promise<number> {
  let notes = 0;
  for (const key of await control.keys(`${prefix}:*:journal*`)) {
    notes += (await control.type(key)) === 'hash' ? await control.hlen(key) : 1;
  }
  return notes;
}

let changes = 0;

describe('exactly once after a SIGKILL between a write and its ack', () => {
  it('group mode with the default consumer name, batch size 5: 20,000 at the sink, none twice, none pending', async () => {
    const from = streams.name('once.group.in');
    const to = streams.name('once.group.out');
    const ids = await streams.seed(from, 20_000);
    const file = config(`    source: { stream: ${from}, mode: group }\n    sink: { stream: ${to} }`, 5);

    const crashed = await run(file, 40);
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(await streams.len(to)).toBe(40 * 5);
    // The batch written and not acked, and the next one read ahead meanwhile.
    const [pending] = (await streams.redis.xpending(from, 'ferry')) as [number];
    expect(pending).toBeGreaterThanOrEqual(5);

    const again = await run(file);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ stopReason: 'empty' });
    const arrived = await sourceIds(to);
    expect(arrived).toHaveLength(20_000);
    expect(new Set(arrived)).toEqual(new Set(ids));
    expect(((await streams.redis.xpending(from, 'ferry')) as [number])[0]).toBe(0);
    expect(await streams.len(from)).toBe(0);
    expect(await journalNotes()).toBe(0);
  }, 120_000);

  it.each([
    ['a sink option changed (write: pipeline)', '    sink: { stream: TO, write: pipeline }', ''],
    [
      'the connections renamed',
      '    sink: { connection: renamed, stream: TO }',
      `  renamed: { kind: redis-stream, url: "${redisUrl}" }`,
    ],
  ])('range mode keeps its journal note across a restart with %s: none twice', async (_, sink, extra) => {
    const from = streams.name(`once.change.${++changes}.in`);
    const to = streams.name(`once.change.${changes}.out`);
    const ids = await streams.seed(from, 2_000);
    const source = `    source: { stream: ${from}, direct: false }`;
    const notes = await journalNotes();

    const crashed = await run(config(`${source}\n    sink: { stream: ${to} }`, 200), 3);
    expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
    expect(await streams.len(to)).toBe(600);
    expect(await journalNotes()).toBe(notes + 1);

    const again = await run(config(`${source}\n${sink.replace('TO', to)}`, 200, extra));
    expect(again.code, again.stderr).toBe(0);
    expect(await sourceIds(to)).toEqual(ids);
    expect(await journalNotes()).toBe(notes);
  });

  it('a different sink does not inherit the note: its batch is written there in full', async () => {
    const from = streams.name('once.other.in');
    const to = streams.name('once.other.out');
    const elsewhere = streams.name('once.other.elsewhere');
    const ids = await streams.seed(from, 1_000);
    const source = `    source: { stream: ${from}, direct: false }`;

    expect((await run(config(`${source}\n    sink: { stream: ${to} }`, 200), 2)).signal).toBe('SIGKILL');
    // The same records are at the old target; the new one must get every record, the batch in doubt too.
    const again = await run(config(`${source}\n    sink: { stream: ${elsewhere} }`, 200));
    expect(again.code, again.stderr).toBe(0);
    expect(await sourceIds(elsewhere)).toEqual(ids.slice(200));
    expect(await sourceIds(to)).toEqual(ids.slice(0, 400));
  });
});
