import { describeError } from '@ferry/core';
import type { ConfigEndpoint } from './config-endpoints.js';
import type { DeadLetterEntry, DeadLetterInfo, EndpointDepth } from './dashboard-snapshot.js';
import type { DepthProbe } from './depth-probe.js';

interface DepthState {
  depth?: number;
  error?: string;
  history: [number, number][];
  latest?: DeadLetterEntry[];
  latestError?: string;
}

/** The depths of what the config names, counted at most every `intervalMs` and kept as a short history. */
export interface EndpointDepths {
  /** Starts a count when the last one is older than the interval and none is under way. */
  countIfDue(now: number): void;
  /** Resolves once the count under way, if any, is done. */
  counted(): Promise<void>;
  endpoints(): EndpointDepth[];
  deadLetters(): DeadLetterInfo[];
}

export interface EndpointDepthsOptions {
  readonly endpoints: readonly ConfigEndpoint[];
  readonly probe: DepthProbe;
  readonly intervalMs: number;
  /** Samples kept per chart. */
  readonly historyLength: number;
}

export function createEndpointDepths(options: EndpointDepthsOptions): EndpointDepths {
  const { endpoints, probe, historyLength } = options;
  const depths = new Map<string, DepthState>(endpoints.map((e) => [e.id, { history: [] }]));
  let counting: Promise<void> | undefined;
  let lastCountAt = 0;

  /** One endpoint's depth, and for a dead-letter target its latest entries; what fails is kept as its error. */
  const count = async (e: ConfigEndpoint, at: number) => {
    const state = depths.get(e.id)!;
    if (e.what === 'exchange') return;
    try {
      state.depth = await probe.depth(e);
      delete state.error;
      state.history.push([at, state.depth]);
      if (state.history.length > historyLength) state.history.splice(0, state.history.length - historyLength);
    } catch (error) {
      state.error = describeError(error);
    }
    if (!e.roles.some((r) => r.role === 'deadLetter')) return;
    try {
      const latest = await probe.latest(e, 5);
      if (latest === undefined) delete state.latest;
      else state.latest = latest;
      delete state.latestError;
    } catch (error) {
      state.latestError = describeError(error);
    }
  };

  const endpointDepth = (e: ConfigEndpoint): EndpointDepth => {
    const state = depths.get(e.id) ?? { history: [] };
    return {
      id: e.id,
      letter: e.letter,
      connection: e.connection,
      what: e.what,
      name: e.name,
      roles: e.roles,
      ...(state.depth === undefined ? {} : { depth: state.depth }),
      ...(state.error === undefined ? {} : { error: state.error }),
      history: state.history,
    };
  };

  const deadLetters = (): DeadLetterInfo[] =>
    endpoints.flatMap((e) =>
      e.roles
        .filter((r) => r.role === 'deadLetter')
        .map((r) => {
          const state = depths.get(e.id) ?? { history: [] };
          const error = state.error ?? state.latestError;
          return {
            flow: r.flow,
            endpoint: e.id,
            ...(state.depth === undefined ? {} : { count: state.depth }),
            ...(error === undefined ? {} : { error }),
            ...(state.latest === undefined ? {} : { latest: state.latest }),
          };
        }),
    );

  return {
    countIfDue(now) {
      if (counting !== undefined || now - lastCountAt < options.intervalMs) return;
      lastCountAt = now;
      // Every endpoint side by side: one that fails or hangs shows its error, the others their counts.
      const at = Date.now();
      counting = Promise.all(endpoints.map((e) => count(e, at)))
        .then(() => undefined)
        .finally(() => {
          counting = undefined;
        });
    },
    counted: async () => counting,
    endpoints: () => endpoints.map(endpointDepth),
    deadLetters,
  };
}
