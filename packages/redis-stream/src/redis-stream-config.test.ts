import { ConfigError } from '@ferry/core';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisStreamSink, createRedisStreamSource, redisStreamConnector } from './index.js';
import { maskSecrets, parseSinkOptions, parseSourceOptions } from './redis-stream-config.js';

const url = 'redis://127.0.0.1:6379';

describe('source options', () => {
  it('fills the defaults and freezes the result', () => {
    const range = parseSourceOptions({ url, stream: 's' });
    expect(range).toMatchObject({ mode: 'range', codec: 'fields', field: 'data' });
    expect(Object.isFrozen(range)).toBe(true);
    const group = parseSourceOptions({ url, stream: 's', mode: 'group' });
    expect(group).toMatchObject({ group: 'ferry', startId: '0', keep: false, claimIdleMs: 60_000 });
    expect(group.consumer).toMatch(/-\d+$/);
  });

  it('names a bad mode and the allowed values', () => {
    expect(() => createRedisStreamSource({ url, stream: 's', mode: 'fanout' })).toThrow(ConfigError);
    expect(() => createRedisStreamSource({ url, stream: 's', mode: 'fanout' })).toThrow(
      /\[redis-stream\] invalid source options:\n\s+- mode: .*"range".*"group".*\(got "fanout"\)/,
    );
  });

  it('requires a stream', () => {
    expect(() => createRedisStreamSource({ url })).toThrow(/- stream: /);
    expect(() => createRedisStreamSource({ url, stream: '' })).toThrow(/- stream: /);
  });

  it('wants exactly one of url and client', () => {
    const client = new Redis({ lazyConnect: true });
    expect(() => createRedisStreamSource({ url, client, stream: 's' })).toThrow(/client: give either url or client/);
    expect(() => createRedisStreamSource({ stream: 's' })).toThrow(/url: give url/);
    expect(() => createRedisStreamSource({ client, stream: 's' })).not.toThrow();
    expect(() => createRedisStreamSource({ client: () => client, stream: 's' })).not.toThrow();
    expect(() => createRedisStreamSource({ client: 'nope', stream: 's' })).toThrow(/client: expected an ioredis/);
    client.disconnect();
  });

  it('refuses a client whose replies come in the resp3 mapping, given or returned by the function', async () => {
    const client = new Redis({ lazyConnect: true, protocol: 3, replyMapping: 'resp3' });
    expect(() => createRedisStreamSource({ client, stream: 's' })).toThrow(
      /client: a client with replyMapping "resp3"/,
    );
    const source = createRedisStreamSource({ client: () => client, stream: 's' });
    await expect(source.open()).rejects.toThrow(
      /^\[redis-stream\] stream "s": a client with replyMapping "resp3" answers in shapes ferry does not read/,
    );
    client.disconnect();
  });

  it('refuses a typo and group options in range mode', () => {
    expect(() => createRedisStreamSource({ url, stream: 's', streem: 'x' })).toThrow(/streem/);
    expect(() => createRedisStreamSource({ url, stream: 's', group: 'g' })).toThrow(/group: applies to mode "group"/);
  });

  it('moves same-server batches directly in range mode unless direct: false, and refuses direct in group mode', () => {
    expect(parseSourceOptions({ url, stream: 's' }).direct).toBe(true);
    expect(parseSourceOptions({ url, stream: 's', direct: false }).direct).toBe(false);
    expect(parseSourceOptions({ url, stream: 's', mode: 'group' }).direct).toBe(false);
    expect(() => createRedisStreamSource({ url, stream: 's', mode: 'group', direct: true })).toThrow(
      /direct: applies to mode "range" only/,
    );
    expect(() => createRedisStreamSource({ url, stream: 's', direct: 'yes' })).toThrow(/- direct: /);
  });

  it('never shows a password from the url', () => {
    let message = '';
    try {
      createRedisStreamSource({ url: 'http://user:s3cret@host:6379', stream: 's' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/url: expected a redis:\/\//);
    expect(message).not.toContain('s3cret');
    expect(maskSecrets('redis://user:pw@h:1 and rediss://:pw@h')).toBe('redis://user:***@h:1 and rediss://:***@h');
  });
});

describe('tls', () => {
  it('takes tls beside a rediss:// url, and refuses it where it would go unused', () => {
    const tls = { ca: 'PEM', rejectUnauthorized: true };
    expect(parseSourceOptions({ url: 'rediss://127.0.0.1:6380', stream: 's', tls }).tls).toEqual(tls);
    expect(() => createRedisStreamSink({ url, stream: 's', tls })).toThrow(
      /- tls: applies to a rediss:\/\/ url: use rediss:\/\/ to connect over TLS/,
    );
    const client = new Redis({ lazyConnect: true });
    expect(() => createRedisStreamSource({ client, stream: 's', tls })).toThrow(
      /- tls: applies to url, not to a ready client/,
    );
    client.disconnect();
  });

  it('names a tls key it does not know and a certificate without its key', () => {
    const rediss = 'rediss://127.0.0.1:6380';
    expect(() => createRedisStreamSink({ url: rediss, stream: 's', tls: { caPath: '/x' } })).toThrow(/tls: .*caPath/);
    expect(() => createRedisStreamSink({ url: rediss, stream: 's', tls: { cert: 'C' } })).toThrow(
      /tls\.key: a client certificate needs both cert and key/,
    );
  });
});

describe('sink options', () => {
  it('fills the defaults', () => {
    expect(parseSinkOptions({ url, stream: 's' })).toMatchObject({ trim: false, sourceIdField: '_source_id' });
    expect(parseSinkOptions({ url, stream: 's', sourceIdField: false }).sourceIdField).toBe(false);
  });

  it('checks maxLen and trim', () => {
    expect(() => createRedisStreamSink({ url, stream: 's', maxLen: 0 })).toThrow(/maxLen/);
    expect(() => createRedisStreamSink({ url, stream: 's', maxLen: 1.5 })).toThrow(/maxLen/);
    expect(() => createRedisStreamSink({ url, stream: 's', trim: true })).toThrow(/trim: trim needs maxLen/);
    expect(() => createRedisStreamSink({ url, stream: 's', mode: 'group' })).toThrow(/mode/);
  });
});

describe('redisStreamConnector', () => {
  it('is the S connector and validates eagerly', () => {
    expect(redisStreamConnector).toMatchObject({ kind: 'redis-stream', letter: 'S' });
    expect(redisStreamConnector.createSource({ kind: 'redis-stream', url, stream: 's' }).name).toBe('redis-stream');
    expect(() => redisStreamConnector.createSink({ url })).toThrow(ConfigError);
  });
});

describe('what deletes records', () => {
  const { destructive } = redisStreamConnector;
  it('is a range read, a group read without keep, and a trim', () => {
    expect(destructive?.('source', { url, stream: 's' })).toEqual({
      key: 'mode',
      reason: 'mode "range" deletes each entry once moved',
    });
    expect(destructive?.('source', { url, stream: 's', mode: 'group' })?.key).toBe('keep');
    expect(destructive?.('source', { url, stream: 's', mode: 'group', keep: true })).toBeUndefined();
    expect(destructive?.('sink', { url, stream: 's', maxLen: 5, trim: true })?.key).toBe('trim');
    expect(destructive?.('sink', { url, stream: 's', maxLen: 5 })).toBeUndefined();
  });
});
