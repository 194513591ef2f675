import type { ConnectorRegistry, Edge } from '@ferry/core';
import type { SystemInfo } from './dashboard-snapshot.js';

/** The registered systems as the API and the dashboard list them, in registration order. */
export function systemInfos(registry: ConnectorRegistry): SystemInfo[] {
  return registry.list().map((c) => ({
    letter: c.letter,
    kind: c.kind,
    title: c.title,
    holds: c.holds,
    installed: registry.has(c.kind),
  }));
}

/** Every ordered pair of the registered systems, each said runnable here when permitted. */
export function edgeInfos(registry: ConnectorRegistry): (Edge & { readonly installed: boolean })[] {
  return registry.edges().map((e) => ({ ...e, installed: e.allowed }));
}
