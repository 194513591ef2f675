import type { ConnectorDefinition } from './connector.js';
import { checkEdge, type Edge, edgeMatrix, parseEdge } from './edges.js';
import { ConfigError } from './errors.js';

/**
 * The connectors a process knows, by kind, letter and URL scheme: how a
 * connection's `kind` becomes a source or a sink, and where the edge matrix,
 * the CLI's URL inference and the API's systems come from.
 */
export interface ConnectorRegistry {
  /** The connector for a kind, or a ConfigError naming the kinds there are. */
  get(kind: string): ConnectorDefinition;
  has(kind: string): boolean;
  /** The connectors in registration order. */
  list(): readonly ConnectorDefinition[];
  kinds(): string[];
  /** The kind a URL's scheme stands for, if a connector claims it. */
  kindOfUrl(url: string): string | undefined;
  /** Every ordered pair of the registered systems, permitted or not. */
  edges(): Edge[];
  /** The edge from one kind to another, or a ConfigError that says why it is refused. */
  edge(fromKind: string, toKind: string): Edge;
  /** An edge by name, `s2q` or `M2C`; refused or unknown ones throw with the reason. */
  parseEdge(name: string): Edge;
  /** A registry with more connectors (plug-ins), checked like these. */
  with(connectors: readonly ConnectorDefinition[]): ConnectorRegistry;
}

const kindPattern = /^[a-z][a-z0-9-]{0,39}$/;
const schemePattern = /^[a-z][a-z0-9+.-]*:$/;

function checkDefinition(connector: ConnectorDefinition, known: readonly ConnectorDefinition[]): void {
  const name = `connector "${String(connector?.kind)}"`;
  const problem = (what: string) => new ConfigError(`[ferry] ${name}: ${what}`);
  if (typeof connector !== 'object' || connector === null) throw problem('not a connector definition (an object)');
  if (!kindPattern.test(connector.kind)) throw problem('kind must be lower-case letters, digits and -');
  if (!/^[A-Z]$/.test(connector.letter)) throw problem(`letter must be one capital letter (got "${connector.letter}")`);
  if (connector.holds !== 'store' && connector.holds !== 'stream') throw problem('holds must be "store" or "stream"');
  for (const key of ['createSource', 'createSink', 'describeEndpoint'] as const) {
    if (typeof connector[key] !== 'function') throw problem(`${key} must be a function`);
  }
  for (const scheme of connector.schemes ?? []) {
    if (!schemePattern.test(scheme)) throw problem(`scheme "${scheme}" must look like "redis:"`);
  }
  for (const other of known) {
    if (other.kind === connector.kind) throw problem('two connectors registered for this kind');
    if (other.letter === connector.letter) throw problem(`letter ${connector.letter} is already ${other.kind}'s`);
    const shared = connector.schemes.find((s) => other.schemes.includes(s));
    if (shared !== undefined) throw problem(`scheme ${shared} is already ${other.kind}'s`);
  }
}

export function createConnectorRegistry(connectors: readonly ConnectorDefinition[]): ConnectorRegistry {
  const list: ConnectorDefinition[] = [];
  for (const connector of connectors) {
    checkDefinition(connector, list);
    list.push(connector);
  }
  const byKind = new Map(list.map((c) => [c.kind, c]));
  const get = (kind: string): ConnectorDefinition => {
    const connector = byKind.get(kind);
    if (connector !== undefined) return connector;
    throw new ConfigError(
      `[ferry] unknown connection kind "${kind}": expected one of ${list.map((c) => c.kind).join(', ') || 'none'} (a plug-in adds others: plugins: in the config)`,
    );
  };
  return {
    get,
    has: (kind) => byKind.has(kind),
    list: () => list,
    kinds: () => list.map((c) => c.kind),
    kindOfUrl(url) {
      const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
      return list.find((c) => scheme !== undefined && c.schemes.includes(scheme))?.kind;
    },
    edges: () => edgeMatrix(list),
    edge: (fromKind, toKind) => checkEdge(get(fromKind), get(toKind), list),
    parseEdge: (name) => parseEdge(name, list),
    with: (more) => createConnectorRegistry([...list, ...more]),
  };
}
