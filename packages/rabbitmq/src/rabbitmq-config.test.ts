import { ConfigError } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRabbitMqSink, createRabbitMqSource, rabbitMqConnector } from './index.js';
import { maskSecrets, parseAmqpUrl, parseSinkOptions, parseSourceOptions } from './rabbitmq-config.js';

const url = 'amqp://guest:guest@127.0.0.1:5672';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('source options', () => {
  it('fills the defaults and freezes the result', () => {
    const config = parseSourceOptions({ url, queue: 'q' });
    expect(config).toMatchObject({
      codec: 'json',
      declare: false,
      durable: true,
      queueType: 'classic',
      arguments: {},
      heartbeatSeconds: 30,
      connectTimeoutMs: 5000,
      prefetch: 0,
      lingerMs: 50,
      maxDeliveries: 5,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('requires a queue', () => {
    expect(() => createRabbitMqSource({ url })).toThrow(ConfigError);
    expect(() => createRabbitMqSource({ url })).toThrow(/\[rabbitmq\] invalid source options:\n\s+- queue: /);
    expect(() => createRabbitMqSource({ url, queue: '' })).toThrow(/- queue: /);
  });

  it('names a bad codec and the allowed values', () => {
    expect(messageOf(() => createRabbitMqSource({ url, queue: 'q', codec: 'xml' }))).toMatch(
      /- codec: .*"json".*"raw".*\(got "xml"\)/,
    );
  });

  it('refuses a typo and a url that is not amqp', () => {
    expect(() => createRabbitMqSource({ url, queue: 'q', prefetsh: 10 })).toThrow(/prefetsh/);
    expect(() => createRabbitMqSource({ url: 'redis://127.0.0.1:6379', queue: 'q' })).toThrow(
      /- url: expected an amqp:\/\//,
    );
  });

  it('never shows a password from the url', () => {
    const message = messageOf(() => createRabbitMqSource({ url: 'http://user:s3cret@host:5672', queue: 'q' }));
    expect(message).toMatch(/url: expected an amqp/);
    expect(message).not.toContain('s3cret');
    expect(maskSecrets('amqp://user:pw@h:1/v and amqps://:pw@h')).toBe('amqp://user:***@h:1/v and amqps://:***@h');
  });
});

describe('sink options', () => {
  it('fills the defaults; the routing key of a queue is its name', () => {
    const config = parseSinkOptions({ url, queue: 'q' });
    expect(config).toMatchObject({ routingKey: 'q', exchangeType: 'direct', sourceIdHeader: 'x-ferry-source-id' });
    expect(parseSinkOptions({ url, exchange: 'e' }).routingKey).toBe('');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes a header name or false for sourceIdHeader, and says so for anything else', () => {
    expect(parseSinkOptions({ url, queue: 'q', sourceIdHeader: false }).sourceIdHeader).toBe(false);
    expect(parseSinkOptions({ url, queue: 'q', sourceIdHeader: 'x-id' }).sourceIdHeader).toBe('x-id');
    for (const bad of [true, 7]) {
      expect(() => createRabbitMqSink({ url, queue: 'q', sourceIdHeader: bad })).toThrow(
        /sourceIdHeader: expected a header name, or false to send the record id in messageId only/,
      );
    }
    expect(() => createRabbitMqSink({ url, queue: 'q', sourceIdHeader: '' })).toThrow(
      /sourceIdHeader: an empty header name: give a name, or false/,
    );
  });

  it('wants exactly one of queue and exchange', () => {
    expect(() => createRabbitMqSink({ url, queue: 'q', exchange: 'e' })).toThrow(
      /exchange: give either queue or exchange, not both/,
    );
    expect(() => createRabbitMqSink({ url })).toThrow(/queue: give queue .* or exchange/);
  });

  it('keeps routing keys and maxLen to where they apply', () => {
    expect(() => createRabbitMqSink({ url, queue: 'q', routingKey: 'k' })).toThrow(/routingKey: applies to exchange/);
    expect(() => createRabbitMqSink({ url, exchange: 'e', routingKey: 'k', routingKeyField: 'f' })).toThrow(
      /routingKeyField: give either/,
    );
    expect(() => createRabbitMqSink({ url, exchange: 'e', maxLen: 10 })).toThrow(/maxLen: applies to queue only/);
    expect(() => createRabbitMqSink({ url, exchange: 'e', routingKeyField: 'kind' })).not.toThrow();
  });

  it('names a bad codec', () => {
    expect(messageOf(() => createRabbitMqSink({ url, queue: 'q', codec: 'avro' }))).toMatch(
      /\[rabbitmq\] invalid sink options:\n\s+- codec: .*"json".*"raw"/,
    );
  });
});

describe('url', () => {
  it('reads host, port, credentials and vhost; "/" when the path is empty', () => {
    expect(parseAmqpUrl('amqp://u:p%40ss@h:5673/my%2Fvhost')).toEqual({
      protocol: 'amqp',
      host: 'h',
      port: 5673,
      username: 'u',
      password: 'p@ss',
      vhost: 'my/vhost',
    });
    expect(parseAmqpUrl('amqp://h')).toMatchObject({ port: 5672, vhost: '/', username: 'guest' });
    expect(parseAmqpUrl('amqp://h/%2F').vhost).toBe('/');
  });
});

describe('tls', () => {
  it('takes tls beside an amqps:// url, and refuses it beside amqp://', () => {
    const tls = { caFile: '/etc/ferry/ca.pem', servername: 'broker' };
    const amqps = 'amqps://guest:guest@127.0.0.1:5671';
    expect(parseSourceOptions({ url: amqps, queue: 'q', tls }).tls).toEqual({ ...tls, rejectUnauthorized: true });
    expect(parseAmqpUrl(amqps)).toMatchObject({ protocol: 'amqps', port: 5671 });
    expect(messageOf(() => createRabbitMqSink({ url, queue: 'q', tls }))).toContain(
      '- tls: applies to an amqps:// url: use amqps:// to connect over TLS',
    );
  });

  it('names a bad tls key', () => {
    const amqps = 'amqps://127.0.0.1';
    expect(
      messageOf(() => createRabbitMqSource({ url: amqps, queue: 'q', tls: { rejectUnauthorized: 'no' } })),
    ).toMatch(/tls\.rejectUnauthorized: /);
  });
});

describe('connector', () => {
  it('registers as rabbitmq, letter Q', () => {
    expect(rabbitMqConnector).toMatchObject({ kind: 'rabbitmq', letter: 'Q' });
    expect(rabbitMqConnector.createSource({ url, queue: 'q' }).name).toBe('rabbitmq');
    expect(rabbitMqConnector.createSink({ url, queue: 'q' }).name).toBe('rabbitmq');
  });
});

describe('queueType', () => {
  it("comes from queueType, else from arguments' x-queue-type, else classic", () => {
    expect(parseSourceOptions({ url, queue: 'q', queueType: 'quorum' }).queueType).toBe('quorum');
    expect(parseSourceOptions({ url, queue: 'q', arguments: { 'x-queue-type': 'quorum' } }).queueType).toBe('quorum');
    expect(parseSourceOptions({ url, queue: 'q' }).queueType).toBe('classic');
    expect(parseSinkOptions({ url, queue: 'q', arguments: { 'x-queue-type': 'stream' } }).queueType).toBe('stream');
    expect(parseSinkOptions({ url, exchange: 'x' }).queueType).toBe('classic');
  });

  it('refuses a queueType that disagrees with x-queue-type, or an x-queue-type it does not know', () => {
    expect(
      messageOf(() =>
        createRabbitMqSource({ url, queue: 'q', queueType: 'classic', arguments: { 'x-queue-type': 'quorum' } }),
      ),
    ).toMatch(/- queueType: "classic" disagrees with arguments' x-queue-type "quorum": give one/);
    expect(messageOf(() => createRabbitMqSink({ url, queue: 'q', arguments: { 'x-queue-type': 'lazy' } }))).toMatch(
      /- arguments\.x-queue-type: expected one of classic, quorum, stream \(got "lazy"\)/,
    );
    expect(messageOf(() => createRabbitMqSource({ url, queue: 'q', queueType: 'fast' }))).toMatch(/- queueType: /);
  });

  it('refuses a stream queue as a source, saying why, and takes it as a sink', () => {
    expect(messageOf(() => createRabbitMqSource({ url, queue: 'q', queueType: 'stream' }))).toMatch(
      /- queueType: a stream queue cannot be read as a queue: .*refuses the nack/,
    );
    expect(() => createRabbitMqSink({ url, queue: 'q', queueType: 'stream', declare: true })).not.toThrow();
  });
});
