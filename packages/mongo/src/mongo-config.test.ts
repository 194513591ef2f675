import { ConfigError } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createMongoSink, createMongoSource, mongoConnector } from './index.js';
import { maskSecrets, parseMongoUrl, parseSinkOptions, parseSourceOptions } from './mongo-config.js';

const url = 'mongodb://127.0.0.1:27017/app';

describe('mongo options', () => {
  it('fills the source defaults, takes the database from the url path, and freezes the result', () => {
    const config = parseSourceOptions({ url, collection: 'orders' });
    expect(config).toMatchObject({
      database: 'app',
      mode: 'copy',
      cursor: '_id',
      checkpointCollection: 'ferry_checkpoints',
      checkpointKey: 'app.orders',
      serverSelectionTimeoutMs: 3000,
      writeConcern: { w: 'majority' },
    });
    expect(config.filter).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('fills the sink defaults; database given wins over the url path', () => {
    const config = parseSinkOptions({ url, database: 'other', collection: 'c' });
    expect(config).toMatchObject({ database: 'other', mode: 'insert', writeConcern: { w: 'majority' } });
    expect(config.maxDocuments).toBeUndefined();
    expect(parseSinkOptions({ url, collection: 'c', writeConcern: { w: 1, j: true } }).writeConcern).toEqual({
      w: 1,
      j: true,
    });
  });

  it('requires a collection and a database, naming the field', () => {
    expect(() => createMongoSink({ url })).toThrow(ConfigError);
    expect(() => createMongoSink({ url })).toThrow(/\[mongo\] invalid sink options:\n\s+- collection: /);
    expect(() => createMongoSource({ url: 'mongodb://h', collection: 'c' })).toThrow(
      /- database: give database, or name it in the url path/,
    );
  });

  it('refuses a url that is not mongodb, a typo, a bad mode and a bad collection name, hiding passwords', () => {
    expect(() => createMongoSink({ url: 'redis://h', collection: 'c' })).toThrow(/- url: expected a mongodb:\/\//);
    expect(() => createMongoSink({ url, collection: 'c', maxDocs: 1 })).toThrow(/maxDocs/);
    expect(() => createMongoSource({ url, collection: 'c', mode: 'upsert' })).toThrow(/- mode: .*"copy".*"move"/);
    expect(() => createMongoSink({ url, collection: 'a$b' })).toThrow(/- collection: .*cannot contain \$/);
    let message = '';
    try {
      createMongoSink({ url: 'mongodb://u:hunter2@h/db', collection: 'c', mode: 'x' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toMatch(/hunter2/);
  });

  it('parses connection strings with several hosts and masks passwords', () => {
    expect(parseMongoUrl('mongodb://u:p%40ss@a,b:27018/db?replicaSet=rs')).toEqual({
      hosts: ['a:27017', 'b:27018'],
      username: 'u',
      database: 'db',
    });
    expect(parseMongoUrl('http://a')).toBeUndefined();
    expect(maskSecrets('at mongodb://u:secret@h:1/db')).toBe('at mongodb://u:***@h:1/db');
  });

  it('refuses operators that run JavaScript at any depth, naming the path, unless the connection allows them', () => {
    const filter = (f: object) => () => parseSourceOptions({ url, collection: 'c', filter: f });
    for (const [f, where] of [
      [{ $where: 'sleep(1000) || true' }, 'filter.$where'],
      [{ $or: [{ a: 1 }, { $where: 'true' }] }, 'filter.$or.1.$where'],
      [
        { $and: [{ $nor: [{ $expr: { $function: { body: 'x', args: [], lang: 'js' } } }] }] },
        'filter.$and.0.$nor.0.$expr.$function',
      ],
      [{ items: { $elemMatch: { $where: 'true' } } }, 'filter.items.$elemMatch.$where'],
      [{ $expr: { $eq: [{ $accumulator: {} }, 1] } }, 'filter.$expr.$eq.0.$accumulator'],
    ] as const) {
      const operator = where.split('.').at(-1);
      expect(filter(f)).toThrow(ConfigError);
      expect(filter(f)).toThrow(
        `- ${where}: ${operator} runs JavaScript on the server: refused unless the connection's allowOperators names it`,
      );
    }
    const allowed = parseSourceOptions({
      url,
      collection: 'c',
      allowOperators: ['$where'],
      filter: { $where: 'true' },
    });
    expect(allowed.filter).toEqual({ $where: 'true' });
    expect(() =>
      parseSourceOptions({ url, collection: 'c', allowOperators: ['$where'], filter: { $expr: { $function: {} } } }),
    ).toThrow(/- filter\.\$expr\.\$function: \$function runs JavaScript/);
    expect(() => parseSinkOptions({ url, collection: 'c', allowOperators: ['$lookup'] })).toThrow(
      /- allowOperators\.0: /,
    );
    expect(parseSinkOptions({ url, collection: 'c', allowOperators: ['$function'] }).allowOperators).toEqual([
      '$function',
    ]);
  });

  it('refuses a cursor that would be read as an operator', () => {
    expect(() => parseSourceOptions({ url, collection: 'c', cursor: '$where' })).toThrow(
      /- cursor: a field name cannot start with \$/,
    );
    expect(parseSourceOptions({ url, collection: 'c', cursor: 'meta.at' }).cursor).toBe('meta.at');
  });

  it('takes a tls option, checked whole, and refuses it beside a url that turns TLS off', () => {
    const config = parseSinkOptions({ url, collection: 'c', tls: { caFile: '/etc/ferry/ca.pem', servername: 'db' } });
    expect(config.tls).toEqual({ caFile: '/etc/ferry/ca.pem', servername: 'db', rejectUnauthorized: true });
    expect(() => parseSinkOptions({ url, collection: 'c', tls: { cert: 'C' } })).toThrow(
      /- tls\.key: a client certificate needs both cert and key/,
    );
    expect(() => parseSourceOptions({ url, collection: 'c', tls: { verify: false } })).toThrow(/verify/);
    expect(() => parseSourceOptions({ url: `${url}?tls=false`, collection: 'c', tls: {} })).toThrow(
      /- tls: the url says tls=false: remove it, or the tls option/,
    );
  });

  it('registers as kind mongo, letter M', () => {
    expect(mongoConnector).toMatchObject({ kind: 'mongo', letter: 'M' });
  });
});

describe('what deletes records', () => {
  const { destructive } = mongoConnector;
  it('is a move, and an upsert replacing documents', () => {
    expect(destructive?.('source', { url, collection: 'c', mode: 'move' })?.reason).toBe(
      'mode "move" deletes each document once moved',
    );
    expect(destructive?.('source', { url, collection: 'c' })).toBeUndefined();
    expect(destructive?.('sink', { url, collection: 'c', mode: 'upsert' })?.key).toBe('mode');
    expect(destructive?.('sink', { url, collection: 'c' })).toBeUndefined();
  });
});
