import { readFileSync } from 'node:fs';
import { ConfigError, createConnectorRegistry } from '@ferry/core';
import { redisStreamConnector } from '@ferry/redis-stream';
import { describe, expect, it } from 'vitest';
import { createNatsSink, createNatsSource, natsConnector } from './index.js';
import { parseNatsUrl, parseSinkOptions, subjectMatches } from './nats-config.js';

const url = 'nats://127.0.0.1:4222';

describe('nats options', () => {
  it('fill in the defaults', () => {
    expect(natsConnector.options.source.parse({ url, stream: 'IN' })).toEqual({
      url,
      stream: 'IN',
      consumer: 'ferry',
      codec: 'json',
      maxDeliveries: 5,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 5000,
    });
    expect(natsConnector.options.sink.parse({ url, stream: 'OUT' })).toMatchObject({ stream: 'OUT', codec: 'json' });
  });

  it('are checked at construction, naming the field, the value and what is allowed; passwords masked', () => {
    const refused = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused(() => createNatsSource({ url: 'redis://x', stream: 'IN' }))).toMatch(/url: expected a nats:\/\//);
    expect(refused(() => createNatsSource({ url, stream: 'a.b' }))).toMatch(
      /stream: a stream name has no spaces, dots/,
    );
    expect(refused(() => createNatsSource({ url, stream: 'IN', consumer: 'a b' }))).toMatch(/consumer: /);
    expect(refused(() => createNatsSource({ url, stream: 'IN', maxDeliveries: 0 }))).toMatch(/maxDeliveries/);
    expect(refused(() => createNatsSource({ url, stream: 'IN', ackWaitMs: 10 }))).toMatch(/ackWaitMs/);
    expect(refused(() => createNatsSink({ url, stream: 'OUT', subject: 'orders.*' }))).toMatch(/no \* or > here/);
    expect(refused(() => createNatsSink({ url, stream: 'OUT', subject: 'a..b' }))).toMatch(
      /subject: expected a subject/,
    );
    expect(refused(() => createNatsSink({ url, stream: 'OUT', queue: 'x' }))).toMatch(/queue/);
    const masked = refused(() => createNatsSink({ url: 'nats://u:s3cret@host:4222', stream: 'a.b' }));
    expect(masked).not.toContain('s3cret');
  });

  it('URLs: user and password, a token, tls://, the default port', () => {
    expect(parseNatsUrl('nats://u:p%40ss@host:4333')).toEqual({
      host: 'host',
      port: 4333,
      tls: false,
      user: 'u',
      pass: 'p@ss',
    });
    expect(parseNatsUrl('nats://s3cret@host')).toEqual({ host: 'host', port: 4222, tls: false, token: 's3cret' });
    expect(parseNatsUrl('tls://[::1]:4443')).toEqual({ host: '::1', port: 4443, tls: true });
  });

  it('subjects match stream patterns token by token', () => {
    expect(subjectMatches('orders.*', 'orders.new')).toBe(true);
    expect(subjectMatches('orders.*', 'orders.new.eu')).toBe(false);
    expect(subjectMatches('orders.>', 'orders.new.eu')).toBe(true);
    expect(subjectMatches('orders.>', 'orders')).toBe(false);
    expect(subjectMatches('orders', 'orders')).toBe(true);
    expect(subjectMatches('*.new', 'orders.new')).toBe(true);
  });
});

describe('tls', () => {
  it('takes tls beside nats:// or tls:// and names a bad key', () => {
    const tls = { ca: 'PEM', cert: 'C', key: 'K' };
    expect(parseSinkOptions({ url, stream: 'IN', tls }).tls).toEqual({
      ...tls,
      rejectUnauthorized: true,
    });
    expect(parseNatsUrl('tls://127.0.0.1:4443')).toMatchObject({ tls: true, port: 4443 });
    expect(() => createNatsSource({ url: 'tls://127.0.0.1', stream: 'IN', tls: { cert: 'C' } })).toThrow(
      /tls\.key: a client certificate needs both cert and key/,
    );
    expect(() => createNatsSink({ url, stream: 'IN', tls: { certificate: 'C' } })).toThrow(ConfigError);
  });
});

describe('natsConnector', () => {
  it('registers as N, a stream system that edges with every registered one', () => {
    const registry = createConnectorRegistry([redisStreamConnector, natsConnector]);
    expect(registry.kindOfUrl('nats://127.0.0.1:4222')).toBe('nats');
    for (const edge of ['N2N', 'N2S', 'S2N'])
      expect(registry.parseEdge(edge)).toMatchObject({ name: edge, allowed: true });
    expect(natsConnector).toMatchObject({ kind: 'nats', letter: 'N', title: 'NATS JetStream', holds: 'stream' });
  });

  it('describes endpoints: readers of one consumer compete; the target is the stream on its server', () => {
    expect(natsConnector.describeEndpoint('source', { url, stream: 'IN', consumer: 'c' })).toEqual({
      what: 'stream',
      name: 'IN',
      singleReader: false,
      readerGroup: 'c',
    });
    expect(natsConnector.describeEndpoint('sink', { url, stream: 'OUT' })).toEqual({
      what: 'stream',
      name: 'OUT',
      singleReader: false,
    });
    expect(natsConnector.target!('source', { url: 'nats://localhost', stream: 'IN' })).toEqual(
      natsConnector.target!('sink', { url: 'nats://u:p@127.0.0.1:4222', stream: 'IN' }),
    );
    expect(() => natsConnector.describeEndpoint('source', { url, stream: '' })).toThrow(ConfigError);
  });

  it('data-plane keys are option keys, and none of them a connection key', () => {
    for (const role of ['source', 'sink'] as const) {
      const shape = (natsConnector.options[role] as unknown as { shape: Record<string, unknown> }).shape;
      for (const key of natsConnector.dataPlaneKeys[role]) expect(Object.keys(shape)).toContain(key);
      for (const key of ['url', 'connectionName', 'connectTimeoutMs', 'requestTimeoutMs']) {
        expect(natsConnector.dataPlaneKeys[role]).not.toContain(key);
      }
    }
  });

  it('its type table is the README table, row for row', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| kind '));
    const rows = table
      .slice(0, table.indexOf('\n\n'))
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').map((cell) => cell.trim()));
    expect(rows.map(([, kind, stored]) => ({ kind, stored }))).toEqual(
      natsConnector.types!.map(({ kind, stored }) => ({ kind, stored })),
    );
  });

  it('loads its bench end lazily', async () => {
    expect(typeof (await natsConnector.bench!())).toBe('function');
  });
});
