import { ConfigError } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { chdbDirectory } from './clickhouse-chdb.js';
import { parseSinkOptions, parseSourceOptions } from './clickhouse-config.js';
import { clickHouseConnector } from './clickhouse-connector.js';
import { hexString, qualifiedName, quoteIdentifier } from './clickhouse-sql.js';

const url = 'http://127.0.0.1:8123';

describe('identifiers', () => {
  it('quotes valid names with backticks', () => {
    expect(quoteIdentifier('events_2024')).toBe('`events_2024`');
    expect(qualifiedName('default', '_t')).toBe('`default`.`_t`');
  });

  it.each(['t; DROP TABLE x', 'a`b', "t'", 't"', '1abc', 'a.b', 'a b', '', 'a-b', 'tëst', 'a\nb', 't--'])(
    'refuses %j with a ConfigError naming it',
    (name) => {
      expect(() => quoteIdentifier(name, 'table')).toThrow(ConfigError);
      expect(() => quoteIdentifier(name, 'table')).toThrow(`table ${JSON.stringify(name)} is not a valid identifier`);
    },
  );

  it('hex literals carry any string without SQL in it', () => {
    expect(hexString("a'); DROP TABLE x; --")).toMatch(/^unhex\('[0-9a-f]+'\)$/);
  });
});

describe('options', () => {
  it('sink defaults', () => {
    const config = parseSinkOptions({ url, table: 'events' });
    expect(config).toMatchObject({
      database: 'default',
      unknownFields: 'skip',
      idColumn: '_source_id',
      columns: {},
      requestTimeoutMs: 30_000,
    });
    expect(config.maxRows).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('source defaults: copy mode, checkpoint key <database>.<table>', () => {
    const config = parseSourceOptions({ url, database: 'stats', table: 'events', cursor: 'id' });
    expect(config).toMatchObject({
      mode: 'copy',
      checkpointKey: 'stats.events',
      jsonColumns: [],
      deleteBatchRows: 10_000,
    });
  });

  it('errors name the field, the value and what is allowed', () => {
    expect(() => parseSinkOptions({ url, table: 'events', unknownFields: 'drop' })).toThrow(
      /unknownFields: Invalid option: expected one of "skip"\|"reject" \(got "drop"\)/,
    );
    expect(() => parseSourceOptions({ url, table: 'events', cursor: 'id', mode: 'cut' })).toThrow(
      /mode: Invalid option: expected one of "copy"\|"move"/,
    );
    expect(() => parseSinkOptions({ url, table: 't; DROP TABLE x' })).toThrow(
      /\[clickhouse\] invalid sink options:\n {2}- table: not a valid table name.*\(got "t; DROP TABLE x"\)/,
    );
    expect(() => parseSinkOptions({ url, table: 't', columns: { a: 'b`c' } })).toThrow(
      /columns\.a: not a valid column name/,
    );
    expect(() => parseSourceOptions({ url, table: 't' })).toThrow(/cursor: /);
    expect(() => parseSinkOptions({ url: 'redis://x', table: 't' })).toThrow(
      /url: expected an http:\/\/ or https:\/\/ URL/,
    );
    expect(() => parseSinkOptions({ url, table: 't', maxRows: 0 })).toThrow(/maxRows: Too small/);
    expect(() => parseSinkOptions({ url, table: 't', nope: 1 })).toThrow(/Unrecognized key: "nope"/);
  });

  it('takes one way to the server: an http(s) url, chdb:///dir, a client or a connection', () => {
    expect(parseSinkOptions({ url: 'chdb:///var/lib/ferry/chdb', table: 't' }).url).toBe('chdb:///var/lib/ferry/chdb');
    const client = { query() {}, insert() {}, exec() {}, command() {}, close() {} };
    expect(parseSinkOptions({ client, table: 't' }).client).toBe(client);
    expect(parseSinkOptions({ client: () => client, table: 't' }).client).toBeTypeOf('function');
    expect(() => parseSinkOptions({ table: 't' })).toThrow(
      /url: expected a url \(http:\/\/, https:\/\/ or chdb:\/\/\/dir\), a client or a connection/,
    );
    expect(() => parseSinkOptions({ url, client, table: 't' })).toThrow(
      /give one of url, client and connection, not url and client/,
    );
    expect(() => parseSinkOptions({ client: { query() {} }, table: 't' })).toThrow(
      /client: expected a @clickhouse\/client client/,
    );
    expect(() => parseSinkOptions({ connection: {}, table: 't' })).toThrow(/connection: expected a connection/);
    for (const [bad, why] of [
      ['chdb://host/dir', 'names a host ("host")'],
      ['chdb:', 'not an absolute directory'],
      ['chdb:///', 'names the root directory'],
    ]) {
      expect(() => parseSinkOptions({ url: bad, table: 't' }), bad).toThrow(`url: ${why}`);
    }
    expect(() => parseSinkOptions({ url: 'chdb:///d', table: 't', password: 'p' })).toThrow(
      'password: an embedded ClickHouse (chdb:// url) has no users: leave out username and password',
    );
    expect(() => parseSinkOptions({ url: 'chdb:///d', table: 't', tls: { caFile: '/ca.pem' } })).toThrow(
      /tls needs an https:\/\/ url/,
    );
  });

  it('compares embedded tables by their directory', () => {
    const target = clickHouseConnector.target!('sink', { url: 'chdb:///var/lib/ch/', table: 'events' });
    expect(target).toEqual({ server: 'chdb:/var/lib/ch/default', name: 'table "default.events"' });
  });

  it('never shows a password in an error', () => {
    const error = (() => {
      try {
        parseSinkOptions({
          url: 'http://u:s3cret@127.0.0.1:8123',
          table: 'a b',
          password: 'other-s3cret',
          maxRows: -1,
        });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).not.toContain('s3cret');
  });

  it('create validates column names and types', () => {
    expect(() =>
      parseSinkOptions({ url, table: 't', create: { columns: { 'a;b': 'String' }, engine: 'MergeTree ORDER BY a' } }),
    ).toThrow(ConfigError);
    expect(() =>
      parseSinkOptions({ url, table: 't', create: { columns: { a: 'String; DROP' }, engine: 'MergeTree ORDER BY a' } }),
    ).toThrow(/- create\.columns\.a: unexpected "; DROP" at 6: only names, numbers, quoted strings/);
  });

  it('create takes the MergeTree family, and the engines the connection names beside it', () => {
    const create = { columns: { a: 'String' }, engine: 'Memory' };
    expect(() => parseSinkOptions({ url, table: 't', create })).toThrow(
      /- create\.engine: engine "Memory" is not allowed: .*name it in the connection's engines/,
    );
    expect(parseSinkOptions({ url, table: 't', engines: ['Memory'], create }).create?.engine).toBe('Memory');
    expect(parseSourceOptions({ url, table: 't', cursor: 'a', engines: ['Memory'] }).engines).toEqual(['Memory']);
    expect(() => parseSinkOptions({ url, table: 't', engines: ['Memory; DROP'] })).toThrow(/- engines\.0: /);
  });
});

describe('what deletes records', () => {
  const { destructive } = clickHouseConnector;
  it('is a move', () => {
    expect(destructive?.('source', { url, table: 't', cursor: 'id', mode: 'move' })?.reason).toBe(
      'mode "move" deletes each row once moved',
    );
    expect(destructive?.('source', { url, table: 't', cursor: 'id' })).toBeUndefined();
    expect(destructive?.('sink', { url, table: 't' })).toBeUndefined();
  });

  it('takes chdb:///abs/dir for an embedded ClickHouse, and says what is wrong with another chdb url', () => {
    expect(parseSinkOptions({ url: 'chdb:///var/lib/ferry/chdb/', table: 't' }).url).toBe(
      'chdb:///var/lib/ferry/chdb/',
    );
    expect(clickHouseConnector.target?.('sink', { url: 'chdb:///var/lib/ferry/chdb/', table: 't' })?.server).toBe(
      'chdb:/var/lib/ferry/chdb/default',
    );
    const refused: [string, RegExp][] = [
      [
        'chdb://data/x',
        /url: names a host \("data"\): .*as chdb:\/\/\/var\/lib\/ferry\/chdb \(got "chdb:\/\/data\/x"\)/,
      ],
      ['chdb:data/x', /url: not an absolute directory: .* \(got "chdb:data\/x"\)/],
      ['chdb:///', /url: names the root directory/],
      ['chdb:///x?y=1', /url: has a query or fragment/],
    ];
    for (const [bad, message] of refused) {
      expect(() => parseSinkOptions({ url: bad, table: 't' })).toThrow(message);
      expect(() => chdbDirectory(bad)).toThrow(`[clickhouse] url ${JSON.stringify(bad)}: `);
    }
    expect(chdbDirectory('chdb:///tmp/a%20b/')).toBe('/tmp/a b');
    expect(chdbDirectory('chdb:///tmp//a/./b%2Dc/')).toBe('/tmp/a/b-c');
    for (const [bad, why] of [
      ['chdb://user:secretpw@/tmp/x', 'url: has a user or password'],
      ['chdb:/tmp/one-slash', 'url: not an absolute directory'],
      ['chdb:////tmp/four', 'url: not an absolute directory'],
      ['chdb:///tmp/%zz', 'url: its path is not valid percent-encoding'],
    ]) {
      const error = (() => {
        try {
          parseSinkOptions({ url: bad, table: 't' });
        } catch (caught) {
          return caught as Error;
        }
      })();
      expect(error?.message, bad).toContain(why);
      expect(error?.message).not.toContain('secretpw');
    }
    // Spellings of one directory are one target: a flow from it into itself is refused.
    const at = (url: string) => clickHouseConnector.target?.('sink', { url, table: 't' })?.server;
    expect(at('chdb:///tmp//x/')).toBe(at('chdb:///tmp/x'));
    expect(at('chdb:///tmp/%78')).toBe(at('chdb:///tmp/x'));
    expect(() => parseSinkOptions({ url: 'chdb:///tmp/x', table: 't', tls: {} })).toThrow(
      /tls needs an https:\/\/ url/,
    );
  });

  it('takes a tls option on an https:// url only, checked whole', () => {
    const https = 'https://127.0.0.1:18443';
    const config = parseSourceOptions({ url: https, table: 't', cursor: 'id', tls: { caFile: '/etc/ferry/ca.pem' } });
    expect(config.tls).toEqual({ caFile: '/etc/ferry/ca.pem', rejectUnauthorized: true });
    expect(() => parseSinkOptions({ url, table: 't', tls: { caFile: '/etc/ferry/ca.pem' } })).toThrow(
      /- tls: tls needs an https:\/\/ url \(the server's https_port\)/,
    );
    expect(() => parseSinkOptions({ url: https, table: 't', tls: { key: 'K' } })).toThrow(
      /- tls\.cert: a client certificate needs both cert and key/,
    );
  });
});
