import { type ConnectorDefinition, createConnectorRegistry } from '@ferry/core';

/**
 * The connector packages the bench measures, in the order of its table, each
 * default-exporting its definition: every edge the registry permits between
 * them gets a row. A new system is its package added here (with a `bench`
 * end in its definition, or its edges are skipped).
 */
export const connectorPackages: readonly string[] = [
  '@ferry/redis-stream',
  '@ferry/rabbitmq',
  '@ferry/mongo',
  '@ferry/clickhouse',
  '@ferry/nats',
];

/** Set by the parent for an edge's process: only its two systems' packages load there (see `packagesOfCase`). */
const only = process.env.FERRY_BENCH_CONNECTORS?.split(',').filter((name) => name !== '');

const loaded = await Promise.all(
  (only ?? connectorPackages).map(async (name) => {
    const definition = ((await import(name)) as { default: ConnectorDefinition }).default;
    return { name, definition };
  }),
);

export const registry = createConnectorRegistry(loaded.map((l) => l.definition));

/**
 * The packages a case's process needs: an edge's two systems (`q2m`), so that
 * its peak RSS is that flow's and not every driver's; undefined (all of them)
 * for the other cases.
 */
export function packagesOfCase(name: string): string[] | undefined {
  const letters = /^([a-z])2([a-z])$/i.exec(name)?.slice(1, 3);
  if (letters === undefined) return undefined;
  const packages = letters.map((letter) => loaded.find((l) => l.definition.letter === letter.toUpperCase())?.name);
  return packages.every((p) => p !== undefined) ? [...new Set(packages as string[])] : undefined;
}
