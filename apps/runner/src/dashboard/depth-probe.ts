import { type ConnectorRegistry, describeError, type Inspector, withTimeout } from '@ferry/core';
import type { ConfigEndpoint } from './config-endpoints.js';
import type { DeadLetterEntry } from './dashboard-snapshot.js';

/**
 * Counts what waits in a stream, queue, collection or table, with one cheap
 * call of each connector's inspector (`ConnectorDefinition.inspect`). One
 * inspector per connection, made on first use and kept until `close`; a
 * failure is the caller's to show, never fatal.
 */
export interface DepthProbe {
  /** The count; rejects with a short reason. */
  depth(endpoint: ConfigEndpoint): Promise<number>;
  /** The newest dead letters, where they can be read without taking them; undefined otherwise. */
  latest(endpoint: ConfigEndpoint, count: number): Promise<DeadLetterEntry[] | undefined>;
  close(): Promise<void>;
}

export interface DepthProbeOptions {
  /** The connectors, whose inspectors do the counting. */
  readonly registry: ConnectorRegistry;
  /** How long one count may take before it is reported as unanswered. */
  readonly timeoutMs?: number;
  /** The inspectors' name on the servers, where they have one (default `ferry:dashboard`). */
  readonly clientName?: string;
}

function answered<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return withTimeout(promise, ms, () => new Error(`${what}: no answer in ${ms / 1000} s`));
}

/** A reason without the `[connector]` its message starts with: the page already says which system. */
export function shortReason(message: string): string {
  return message.replace(/^\[[^\]]+\] /, '');
}

export function createDepthProbe(options: DepthProbeOptions): DepthProbe {
  const { registry } = options;
  const timeoutMs = options.timeoutMs ?? 3000;
  const settings = { timeoutMs, clientName: options.clientName ?? 'ferry:dashboard' };
  const inspectors = new Map<string, Inspector>();

  /** The connection's inspector, or undefined when its connector has none. */
  const inspectorOf = (e: ConfigEndpoint): Inspector | undefined => {
    let inspector = inspectors.get(e.connection);
    if (inspector === undefined) {
      const connector = registry.get(e.kind);
      if (connector.inspect === undefined) return undefined;
      inspector = connector.inspect(e.connectionOptions, settings);
      inspectors.set(e.connection, inspector);
    }
    return inspector;
  };

  const shortly = async <T>(what: string, ask: () => Promise<T>): Promise<T> => {
    try {
      return await answered(ask(), timeoutMs, what);
    } catch (error) {
      throw new Error(shortReason(describeError(error)), { cause: error });
    }
  };

  return {
    depth(e) {
      return shortly(e.what, async () => {
        const inspector = inspectorOf(e);
        if (inspector === undefined) throw new Error('no depth for this connector: it has no inspector');
        return inspector.depth(e.options);
      });
    },
    async latest(e, n) {
      const inspector = inspectorOf(e);
      if (inspector?.latest === undefined) return undefined;
      const entries = await shortly(`the newest of ${e.what} ${e.name}`, () => inspector.latest!(e.options, n));
      return entries.map((entry) => ({ ...entry }));
    },
    async close() {
      const closing = [...inspectors.values()].map((i) => i.close().catch(() => {}));
      inspectors.clear();
      await Promise.allSettled(closing);
    },
  };
}
