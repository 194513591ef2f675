import { describe, expect, it } from 'vitest';
import type { EdgeSystem } from './edges.js';
import { checkEdge, edgeMatrix, parseEdge } from './edges.js';
import { ConfigError } from './errors.js';

const systems: EdgeSystem[] = [
  { letter: 'S', kind: 'redis-stream', title: 'Redis Streams', holds: 'stream' },
  { letter: 'Q', kind: 'rabbitmq', title: 'RabbitMQ', holds: 'stream' },
  { letter: 'M', kind: 'mongo', title: 'MongoDB', holds: 'store' },
  { letter: 'C', kind: 'clickhouse', title: 'ClickHouse', holds: 'store' },
];
const [, , mongo, clickhouse] = systems as [EdgeSystem, EdgeSystem, EdgeSystem, EdgeSystem];

describe('edge matrix', () => {
  it('permits every ordered pair of S, Q, M, C except M2C and C2M', () => {
    const matrix = edgeMatrix(systems);
    expect(matrix).toHaveLength(16);
    expect(matrix.filter((e) => e.allowed).map((e) => e.name)).toEqual([
      'S2S',
      'S2Q',
      'S2M',
      'S2C',
      'Q2S',
      'Q2Q',
      'Q2M',
      'Q2C',
      'M2S',
      'M2Q',
      'M2M',
      'C2S',
      'C2Q',
      'C2C',
    ]);
    expect(matrix.filter((e) => !e.allowed).map((e) => e.name)).toEqual(['M2C', 'C2M']);
  });

  it('refuses M2C and C2M with the reason and the way through a queue', () => {
    expect(() => checkEdge(mongo, clickhouse, systems)).toThrow(ConfigError);
    expect(() => parseEdge('m2c', systems)).toThrow(
      '[ferry] edge M2C is not permitted: MongoDB and ClickHouse are both stores and do not exchange data directly; ' +
        'move the data through a queue instead: M2S then S2C, or M2Q then Q2C',
    );
    expect(() => parseEdge('C2M', systems)).toThrow(/C2S then S2M, or C2Q then Q2M/);
  });

  it('parses edge names in either case and rejects what is not one', () => {
    expect(parseEdge('s2q', systems)).toMatchObject({ name: 'S2Q', from: 'S', to: 'Q', allowed: true });
    expect(() => parseEdge('S2X', systems)).toThrow(
      '[ferry] "S2X" is not an edge: expected two of S, Q, M, C joined by 2',
    );
  });

  it('derives the store rule from what each system holds: a fifth stream system pairs with every one', () => {
    const five = [...systems, { letter: 'N', kind: 'nats', title: 'NATS JetStream', holds: 'stream' } as const];
    const matrix = edgeMatrix(five);
    expect(matrix).toHaveLength(25);
    expect(matrix.filter((e) => !e.allowed).map((e) => e.name)).toEqual(['M2C', 'C2M']);
    expect(() => parseEdge('M2C', five)).toThrow('M2S then S2C, or M2Q then Q2C, or M2N then N2C');
  });
});
