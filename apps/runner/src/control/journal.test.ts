import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { AbortedError, parseConfig } from '@ferry/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import { planFlow } from '../jobs/flow-builder.js';
import { openFlowReader } from './flow-reader.js';
import { createRedisJournal, type JournalPlace, journalPlace } from './journal.js';
import { formatNotes, listJournalNotes } from './journal-notes.js';
import { acquireReaderLease } from './reader-lease.js';
import { acquireSourceLock } from './source-lock.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const base = `ferry-unit-journal-${process.pid}-${randomBytes(3).toString('hex')}`;
afterAll(async () => {
  const keys = await redis.keys(`${base}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const about = { flow: 'f', source: 'redis-stream redis://h:1 stream "a"', sink: 'redis-stream redis://h:1 stream "b"' };
const place = (name: string, reader = 'ferry:f:0', legacyKey?: string): JournalPlace => ({
  key: `${base}:journal:${name}`,
  reader,
  about,
  ...(legacyKey === undefined ? {} : { legacyKey }),
});

describe('the batch journal', () => {
  it('keeps the attempt count, the span and the position with the ids, and what the note is about', async () => {
    const journal = createRedisJournal(redis, place('plain'));
    await journal.begin({ ids: ['5-0'], attempts: 3, span: 7, position: '4-0' });
    expect(await journal.inDoubt()).toEqual({ ids: ['5-0'], attempts: 3, span: 7, position: '4-0' });
    expect(JSON.parse((await redis.hget(`${base}:journal:plain`, 'ferry:f:0'))!)).toMatchObject({
      reader: 'ferry:f:0',
      ...about,
    });
    await journal.end();
    expect(await redis.exists(`${base}:journal:plain`)).toBe(0);
  });

  it('finds a note an older ferry kept under its own key (a bare list of ids too), and clears it after the ack', async () => {
    const legacy = `${base}:journal:0123:0`;
    await redis.set(legacy, JSON.stringify(['1-0', '2-0']));
    const journal = createRedisJournal(redis, place('upgrade', 'ferry:f:0', legacy));
    expect(await journal.inDoubt()).toEqual({ ids: ['1-0', '2-0'], attempts: 1 });
    await journal.begin({ ids: ['1-0', '2-0'], attempts: 2 });
    await journal.end();
    expect(await redis.exists(legacy)).toBe(0);
    expect(await journal.inDoubt()).toBeUndefined();
  });

  it("two readers keep two notes; one finds the other's by a record id and removes it only while unchanged", async () => {
    const a = createRedisJournal(redis, place('two', 'ferry:f:0'));
    const b = createRedisJournal(redis, place('two', 'ferry:f:1'));
    await a.begin({ ids: ['1-0', '2-0'], attempts: 1, position: '0-0' });
    await b.begin({ ids: ['3-0'], attempts: 1 });
    expect(await a.inDoubt()).toMatchObject({ ids: ['1-0', '2-0'] });
    expect(await b.inDoubt()).toMatchObject({ ids: ['3-0'] });
    const [note] = await b.notesOf!(['2-0']);
    expect(note).toMatchObject({ reader: 'ferry:f:0', ids: ['1-0', '2-0'], position: '0-0' });
    expect(await b.notesOf!(['3-0'])).toEqual([]);
    await a.begin({ ids: ['4-0'], attempts: 1 });
    await b.settle!(note!);
    expect(await a.inDoubt()).toMatchObject({ ids: ['4-0'] });
    const [unchanged] = await b.notesOf!(['4-0']);
    await b.settle!(unchanged!);
    expect(await a.inDoubt()).toBeUndefined();
  });
});

describe('the place of a note', () => {
  const config = (sink: string, extra = '') =>
    parseConfig({
      connections: {
        default: { kind: 'redis-stream', url: 'redis://:secret@127.0.0.1:6379' },
        other: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' },
        far: { kind: 'redis-stream', url: 'redis://10.0.0.9:6379' },
        ...(extra === ''
          ? {}
          : {
              renamed: { kind: 'redis-stream', url: extra.startsWith('redis://') ? extra : 'redis://127.0.0.1:6379' },
            }),
      },
      flows: { f: { source: { stream: 'in', mode: 'group' }, sink: JSON.parse(sink) } },
    });
  const keyOf = (sink: string, extra = '') => {
    const c = config(sink, extra);
    return journalPlace('p', c, 'f', c.flows.f!, 'ferry:f:0', createRegistry()).key;
  };

  it('stays across option changes, a renamed connection and a new password', () => {
    const key = keyOf('{"stream":"out"}');
    expect(keyOf('{"stream":"out","write":"pipeline","codec":"json"}')).toBe(key);
    expect(keyOf('{"connection":"renamed","stream":"out"}', 'renamed')).toBe(key);
    expect(keyOf('{"connection":"other","stream":"out"}')).toBe(key);
    // The same server by another loopback name, and db 0 written out, as the connector's target says.
    expect(keyOf('{"connection":"renamed","stream":"out"}', 'redis://localhost:6379/0')).toBe(key);
  });

  it('changes with the sink: another stream or another server', () => {
    const key = keyOf('{"stream":"out"}');
    expect(keyOf('{"stream":"elsewhere"}')).not.toBe(key);
    expect(keyOf('{"connection":"far","stream":"out"}')).not.toBe(key);
  });
});

describe('the reader lease', () => {
  const keyOf = (name: string) => (slot: number) => `${base}:reader:${name}:${slot}`;

  it('gives two live readers two names, and the lowest free one to the next', async () => {
    const a = await acquireReaderLease(redis, keyOf('live'), 'f');
    const b = await acquireReaderLease(redis, keyOf('live'), 'f');
    expect([a.name, b.name]).toEqual(['ferry:f:0', 'ferry:f:1']);
    await a.release();
    const c = await acquireReaderLease(redis, keyOf('live'), 'f');
    expect(c.name).toBe('ferry:f:0');
    await Promise.all([b.release(), c.release()]);
  });

  it('takes back at once the name of a process of this host that is gone; never that of another host', async () => {
    const pids = existsSync('/proc/self/ns/pid') ? readlinkSync('/proc/self/ns/pid') : '';
    const exited = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout);
    const dead = JSON.stringify({ host: hostname(), pids, pid: exited, token: 'x' });
    const elsewhere = JSON.stringify({ host: 'another-host', pids, pid: exited, token: 'y' });
    await redis.set(`${base}:reader:gone:0`, dead, 'PX', 30_000);
    await redis.set(`${base}:reader:far:0`, elsewhere, 'PX', 30_000);
    const back = await acquireReaderLease(redis, keyOf('gone'), 'f');
    const next = await acquireReaderLease(redis, keyOf('far'), 'f');
    expect(back.name).toBe('ferry:f:0');
    expect(next.name).toBe('ferry:f:1');
    await Promise.all([back.release(), next.release()]);
  });
});

describe('the batch journal fenced by the source lock', () => {
  it('notes a batch and renews the lock while the lock is this holder’s', async () => {
    const lock = (await acquireSourceLock(redis, `${base}:lock:a`, 'me', 5_000))!;
    const journal = createRedisJournal(redis, place('a'), lock);
    await redis.pexpire(lock.key, 1_000);
    await journal.begin({ ids: ['1-0', '2-0'], attempts: 2 });
    expect(await journal.inDoubt()).toEqual({ ids: ['1-0', '2-0'], attempts: 2 });
    expect(await redis.pttl(lock.key)).toBeGreaterThan(1_000);
    await journal.end();
    expect(await journal.inDoubt()).toBeUndefined();
    await lock.release();
    expect(await redis.exists(lock.key)).toBe(0);
  });

  it('refuses to note a batch once the lock expired or passed to another job, and says the lock is lost', async () => {
    const lock = (await acquireSourceLock(redis, `${base}:lock:b`, 'me', 5_000))!;
    const journal = createRedisJournal(redis, place('b'), lock);
    await redis.set(lock.key, 'someone-else');
    await expect(journal.begin({ ids: ['1-0'], attempts: 1 })).rejects.toBeInstanceOf(AbortedError);
    expect(lock.lost.aborted).toBe(true);
    expect(await redis.exists(`${base}:journal:b`)).toBe(0);
    await lock.release();
    // Released only by its holder.
    expect(await redis.get(lock.key)).toBe('someone-else');
  });

  it('counts a lock it could not renew within its time to live as lost', async () => {
    const lock = (await acquireSourceLock(redis, `${base}:lock:c`, 'me', 300))!;
    await redis.del(lock.key);
    await expect.poll(() => lock.lost.aborted, { timeout: 2_000 }).toBe(true);
    await lock.release();
  });
});

describe('the notes ferry doctor lists', () => {
  it('says which batches in doubt have a live reader and which are orphaned', async () => {
    const prefix = `${base}-doctor`;
    const config = parseConfig({
      connections: { default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' } },
      flows: { f: { source: { stream: `${prefix}.in`, mode: 'group' }, sink: { stream: `${prefix}.out` } } },
    });
    const registry = createRegistry();
    const open = () => openFlowReader({ redis, prefix, plan: planFlow(config, 'f', registry) });
    const running = await open();
    const gone = await open();
    expect((gone.flow.spec.source as { consumer?: string }).consumer).toBe('ferry:f:1');
    await running.journal.begin({ ids: ['1-0', '2-0'], attempts: 1 });
    await gone.journal.begin({ ids: ['3-0'], attempts: 2 });
    await gone.lease.release();

    const notes = await listJournalNotes(redis, prefix);
    expect(notes.map((n) => [n.reader, n.records, n.live])).toEqual([
      ['ferry:f:0', 2, true],
      ['ferry:f:1', 1, false],
    ]);
    expect(notes[0]).toMatchObject({ flow: 'f', sink: expect.stringContaining(`stream "${prefix}.out"`) });
    expect(formatNotes(notes)).toMatch(/2 batches in doubt, 1 orphaned/);
    await running.journal.end();
    await running.lease.release();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  });
});
