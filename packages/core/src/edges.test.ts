import { describe, expect, it } from 'vitest';
import { checkEdge, edgeMatrix, letterOfKind, parseEdge } from './edges.js';
import { ConfigError } from './errors.js';

describe('edge matrix', () => {
  it('permits every ordered pair of S, Q, M, C except M2C and C2M', () => {
    const matrix = edgeMatrix();
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
    expect(() => checkEdge('M', 'C')).toThrow(ConfigError);
    expect(() => parseEdge('m2c')).toThrow(
      '[ferry] edge M2C is not permitted: MongoDB and ClickHouse are both stores and do not exchange data directly; ' +
        'move the data through a queue instead: M2S then S2C, or M2Q then Q2C',
    );
    expect(() => parseEdge('C2M')).toThrow(/C2S then S2M, or C2Q then Q2M/);
  });

  it('parses edge names in either case and rejects what is not one', () => {
    expect(parseEdge('s2q')).toMatchObject({ name: 'S2Q', from: 'S', to: 'Q', allowed: true });
    expect(() => parseEdge('S2X')).toThrow('[ferry] "S2X" is not an edge: expected two of S, Q, M, C joined by 2');
  });

  it('maps connection kinds to letters', () => {
    expect(letterOfKind('redis-stream')).toBe('S');
    expect(letterOfKind('clickhouse')).toBe('C');
    expect(() => letterOfKind('kafka')).toThrow(
      '[ferry] unknown connection kind "kafka": expected one of redis-stream, rabbitmq, mongo, clickhouse',
    );
  });
});
