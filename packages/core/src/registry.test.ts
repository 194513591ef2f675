import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConnectorDefinition } from './connector.js';
import { createMemorySink, createMemorySource } from './memory.js';
import { createConnectorRegistry } from './registry.js';

function connector(kind: string, letter: string, holds: 'store' | 'stream', schemes: string[]): ConnectorDefinition {
  return {
    kind,
    letter,
    title: kind.toUpperCase(),
    schemes,
    holds,
    options: { source: z.object({}), sink: z.object({}) },
    dataPlaneKeys: { source: [], sink: [] },
    createSource: () => createMemorySource([]),
    createSink: () => createMemorySink(),
    describeEndpoint: () => ({ what: 'stream', name: 'x', singleReader: false }),
  };
}

const a = connector('alpha', 'A', 'stream', ['alpha:', 'alphas:']);
const b = connector('beta', 'B', 'store', ['beta:']);
const c = connector('gamma', 'G', 'store', []);

describe('connector registry', () => {
  it('finds connectors by kind and by URL scheme, in registration order', () => {
    const registry = createConnectorRegistry([a, b]);
    expect(registry.kinds()).toEqual(['alpha', 'beta']);
    expect(registry.get('beta')).toBe(b);
    expect(registry.kindOfUrl('ALPHAS://host')).toBe('alpha');
    expect(registry.kindOfUrl('ftp://host')).toBeUndefined();
  });

  it('names the kinds it has when asked for another', () => {
    expect(() => createConnectorRegistry([a, b]).get('kafka')).toThrow(
      '[ferry] unknown connection kind "kafka": expected one of alpha, beta',
    );
  });

  it('derives the edges from the registered systems: two stores only through a stream', () => {
    const registry = createConnectorRegistry([a, b, c]);
    expect(registry.edges().map((e) => `${e.name}${e.allowed ? '' : '!'}`)).toEqual([
      'A2A',
      'A2B',
      'A2G',
      'B2A',
      'B2B',
      'B2G!',
      'G2A',
      'G2B!',
      'G2G',
    ]);
    expect(() => registry.edge('beta', 'gamma')).toThrow('move the data through a queue instead: B2A then A2G');
    expect(registry.parseEdge('a2g')).toMatchObject({ name: 'A2G', allowed: true });
  });

  it('refuses a second connector of a kind, a letter or a scheme already taken, and a malformed one', () => {
    expect(() => createConnectorRegistry([a, a])).toThrow('[ferry] connector "alpha": two connectors registered');
    expect(() => createConnectorRegistry([a, connector('other', 'A', 'stream', [])])).toThrow(
      'letter A is already alpha',
    );
    expect(() => createConnectorRegistry([a, connector('other', 'O', 'stream', ['alpha:'])])).toThrow(
      'scheme alpha: is already alpha',
    );
    expect(() => createConnectorRegistry([connector('Bad Kind', 'X', 'stream', [])])).toThrow('kind must be');
    expect(() => createConnectorRegistry([connector('x', 'xy', 'stream', [])])).toThrow('one capital letter');
  });

  it('grows by plug-ins with the same checks', () => {
    const registry = createConnectorRegistry([a]).with([b]);
    expect(registry.kinds()).toEqual(['alpha', 'beta']);
    expect(() => registry.with([connector('beta', 'Z', 'stream', [])])).toThrow('two connectors registered');
  });
});
