// biome-ignore-all lint/suspicious/noTemplateCurlyInString: a request's ${VAR} must arrive as written
import type { ConnectorDefinition, Sink, Source } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../connectors.js';
import { parseServerConfig } from '../server-config.js';
import { flowRequest, s2sRequest } from './job-spec.js';

const registry = createRegistry();
const connections = {
  default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379/3' },
  mongo: { kind: 'mongo', url: 'mongodb://127.0.0.1:27017', database: 'app' },
  ch: { kind: 'clickhouse', url: 'http://127.0.0.1:8123', database: 'shop' },
  orders: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379/3' },
};
const server = (api?: object) =>
  parseServerConfig({ connections, ...(api === undefined ? {} : { api }) }, 'config', registry.kinds());
const refusal = (body: object, config = server()) => {
  try {
    flowRequest(body, config, registry);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('an API caller sets data-plane keys only', () => {
  it('is offered no connection key by any registered connector', () => {
    const connectionKeys = [
      'url',
      'client',
      'kind',
      'connectionName',
      'database',
      'db',
      'username',
      'password',
      'user',
      'tls',
      'create',
      'declare',
      'filter',
      'checkpointKey',
      'checkpointCollection',
      'vhost',
      'servers',
    ];
    for (const connector of registry.list()) {
      for (const role of ['source', 'sink'] as const) {
        expect(
          connector.dataPlaneKeys[role].filter((key) => connectionKeys.includes(key)),
          `${connector.kind} ${role}`,
        ).toEqual([]);
      }
    }
  });

  it.each([
    ['source', { stream: 'in', database: 'other' }, 'source.database: not a key API callers may set'],
    ['source', { stream: 'in', username: 'admin' }, 'source.username: not a key API callers may set'],
    ['sink', { stream: 'out', password: 'pw' }, 'sink.password: not a key API callers may set'],
    ['sink', { stream: 'out', url: 'redis://10.0.0.1' }, 'sink.url: a connection key, set in the config file'],
  ])('refuses %s key %j', (role, endpoint, line) => {
    const body = { source: { stream: 'in' }, sink: { stream: 'out' }, [role]: endpoint };
    const message = refusal(body);
    expect(message).toContain(`  - ${line}; through the API only stream, `);
    expect(message).toContain('may be set on connection "default"');
  });

  it('refuses a MongoDB database and filter, and ClickHouse DDL, naming each key', () => {
    const mongo = refusal({
      source: { connection: 'mongo', collection: 'c', database: 'admin', filter: { $where: 'sleep(1)' } },
      sink: { stream: 'out' },
    });
    expect(mongo).toContain('  - source.database: a connection key, set in the config file');
    expect(mongo).toContain('  - source.filter: a connection key, set in the config file');
    const ch = refusal({
      source: { stream: 'in' },
      sink: { connection: 'ch', table: 't', create: { engine: "URL('http://127.0.0.1:1/x', JSONEachRow)" } },
    });
    expect(ch).toContain('  - sink.create: a connection key, set in the config file');
    expect(ch).toContain('through the API only table, columns,');
    const creds = refusal({
      source: { connection: 'ch', table: 't', database: 'system', username: 'u', password: 'p' },
      sink: { stream: 'o' },
    });
    for (const key of ['database', 'username', 'password'])
      expect(creds).toContain(`  - source.${key}: a connection key, set in the config file`);
    expect(creds).not.toContain('"p"');
  });

  it('refuses a checkpoint key: it could name another reader position', () => {
    expect(
      refusal({ source: { connection: 'ch', table: 't', checkpointKey: 'shop.orders' }, sink: { stream: 'o' } }),
    ).toContain('  - source.checkpointKey: a connection key');
  });

  it('takes every data-plane key, and a ${VAR} as it is written', () => {
    const data = flowRequest(
      { source: { stream: '${HOME}', mode: 'group', group: 'g', codec: 'json' }, sink: { stream: 'out', maxLen: 10 } },
      server(),
      registry,
    );
    expect(data.flow?.source).toEqual({
      connection: 'default',
      stream: '${HOME}',
      mode: 'group',
      group: 'g',
      codec: 'json',
    });
  });

  it('takes the keys api.allow opens on that connection only', () => {
    const config = server({ allow: { mongo: { keys: ['filter'] } } });
    const body = { source: { connection: 'mongo', collection: 'c', filter: { n: 1 } }, sink: { stream: 'out' } };
    expect(flowRequest(body, config, registry).flow?.source).toMatchObject({ filter: { n: 1 } });
    expect(refusal({ ...body, source: { ...body.source, database: 'x' } }, config)).toContain('source.database');
  });
});

describe('api.allow', () => {
  it('refuses a name outside its patterns, on each role', () => {
    const config = server({ allow: { orders: { names: ['orders-*', 'dlq'] } } });
    const ok = {
      source: { connection: 'orders', stream: 'orders-in' },
      sink: { connection: 'orders', stream: 'orders-out' },
    };
    expect(flowRequest(ok, config, registry).name).toBe('api');
    const message = refusal({ ...ok, sink: { connection: 'orders', stream: 'payments' } }, config);
    expect(message).toBe(
      '[ferry] invalid flow "api":\n  - sink.stream: "payments" is not a name API callers may use on connection "orders" (api.allow.orders.names: orders-*, dlq)',
    );
  });

  it('refuses destructive modes where destructive is false, and not a copy', () => {
    const config = server({ allow: { default: { destructive: false }, mongo: { destructive: false } } });
    expect(refusal({ source: { stream: 'in' }, sink: { stream: 'out' } }, config)).toContain(
      '  - source.mode: mode "range" deletes each entry once moved, and connection "default" refuses it to API callers (api.allow.default.destructive: false)',
    );
    expect(
      refusal({ source: { connection: 'mongo', collection: 'c', mode: 'move' }, sink: { stream: 'o' } }, config),
    ).toContain('source.mode: mode "move" deletes each document once moved');
    const group = { source: { stream: 'in', mode: 'group', keep: true }, sink: { stream: 'out' } };
    expect(flowRequest(group, config, registry).name).toBe('api');
    expect(refusal({ ...group, sink: { stream: 'out', maxLen: 5, trim: true } }, config)).toContain(
      'sink.trim: trim deletes',
    );
  });

  it('holds for /s2s/ callers too, and not for a flow of the config', () => {
    const config = parseServerConfig(
      {
        connections,
        flows: { mine: { source: { stream: 'in' }, sink: { stream: 'out' } } },
        api: { allow: { default: { destructive: false } } },
      },
      'config',
      registry.kinds(),
    );
    const dict = {
      source_stream: 'in',
      target_stream: 'out',
      source_read_batch_num: 1,
      target_write_batch_num: 1,
      max_exec_cnt: 1,
    };
    expect(() => s2sRequest(dict, config, registry)).toThrow('invalid /s2s/ config:\n  - source.mode: mode "range"');
    expect(flowRequest({ flow: 'mine' }, config, registry).name).toBe('mine');
  });

  it('is checked with the config: a connection it names exists, and url is never opened', () => {
    expect(() => server({ allow: { nope: {} } })).toThrow('api.allow.nope: no connection named "nope"');
    expect(() => server({ allow: { default: { keys: ['url'] } } })).toThrow(
      'api.allow.default.keys.0: "url" is always the connection\'s own',
    );
    expect(() => server({ allow: { default: { names: [] } } })).toThrow('api.allow.default.names');
  });
});

describe('a plug-in', () => {
  it('that declares no data-plane keys takes only its connection through the API', () => {
    const plugin = {
      kind: 'box',
      letter: 'B',
      title: 'Box',
      schemes: [],
      holds: 'stream',
      options: { source: {}, sink: {} },
      createSource: () => ({ name: 'box' }) as Source,
      createSink: () => ({ name: 'box' }) as Sink,
      describeEndpoint: () => ({ what: 'box', name: 'b', singleReader: false }),
    } as unknown as ConnectorDefinition;
    const withBox = registry.with([plugin]);
    const config = parseServerConfig(
      { connections: { ...connections, box: { kind: 'box', url: 'box://x' } } },
      'config',
      withBox.kinds(),
    );
    expect(() =>
      flowRequest({ source: { connection: 'box', box: 'b' }, sink: { stream: 'o' } }, config, withBox),
    ).toThrow(
      '  - source.box: not a key API callers may set; through the API only connection may be set on connection "box"',
    );
  });
});
