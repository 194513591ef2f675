import type { ConnectorDefinition, EndpointRole, TestEnd } from '@ferry/core';
import { createRegistry, installedConnectors } from '@ferry/runner';
import { afterAll } from 'vitest';

/**
 * The systems of the suites: every connector the runner registers that has a
 * test end (`<package>/testing`, loaded by its definition's `testing`). A new
 * system joins every suite here with its package; no test names one.
 */
export interface System {
  readonly definition: ConnectorDefinition;
  readonly letter: string;
  /** The connection's name in a config file: the kind. */
  readonly connection: string;
  readonly end: TestEnd;
}

/** An ordered pair of systems the registry permits, source first: `S2N`. */
export interface SystemEdge {
  readonly name: string;
  readonly from: System;
  readonly to: System;
}

/** The registered connectors that have a test end, in registration order. */
export const testedConnectors: readonly ConnectorDefinition[] = installedConnectors.filter(
  (connector) => connector.testing !== undefined,
);

const registry = createRegistry();

export interface Systems {
  readonly list: readonly System[];
  /** Every permitted edge between them, sources in registration order. */
  readonly edges: readonly SystemEdge[];
  /** `connections:` with one entry per system, named by its kind, for a config file. */
  connections(): string;
  /** An endpoint of a flow in a config file: the system's connection and its keys for the named thing. */
  endpoint(system: System, name: string, role: EndpointRole): string;
}

/**
 * Opens each system's test end for this file (names of its own in each,
 * removed after it). Call with top-level await: what the ends say shapes the
 * tests a file registers.
 */
export async function openSystems(label: string): Promise<Systems> {
  const scope = `${label}_${process.pid}`;
  const list: System[] = [];
  afterAll(async () => {
    for (const system of list) await system.end.close();
  }, 120_000);
  for (const definition of testedConnectors) {
    const open = await definition.testing!();
    list.push({ definition, letter: definition.letter, connection: definition.kind, end: await open({ scope }) });
  }
  const byKind = new Map(list.map((system) => [system.definition.kind, system]));
  const edges = registry
    .edges()
    .filter((edge) => edge.allowed)
    .flatMap((edge) => {
      const from = list.find((s) => s.letter === edge.from);
      const to = list.find((s) => s.letter === edge.to);
      return from === undefined || to === undefined ? [] : [{ name: edge.name, from, to }];
    });
  return {
    list,
    edges,
    connections: () =>
      ['connections:', ...[...byKind].map(([kind, s]) => `  ${kind}: ${JSON.stringify(s.end.connection())}`)].join(
        '\n',
      ),
    endpoint: (system, name, role) =>
      JSON.stringify({ connection: system.connection, ...system.end.endpoint(name, role) }),
  };
}

/** The options a connector's factories take for an endpoint of the system: its connection merged with the endpoint's keys. */
export function endpointOptions(system: System, name: string, role: EndpointRole): Record<string, unknown> {
  return { ...system.end.connection(), ...system.end.endpoint(name, role) };
}
