import type { Sink } from './contracts.js';
import type { FerryRecord } from './record.js';

/**
 * The sink with another rule for its room: every other member forwarded to
 * it, the optional ones only where it has them (a sink without `reconcile`
 * stays one), so that what the pump or a source asks of it, such as its
 * `directTarget`, still comes from the sink itself.
 */
export function withFree(sink: Sink, free: () => Promise<number>): Sink {
  const { position, reconcile, directTarget } = sink;
  return Object.freeze({
    get name() {
      return sink.name;
    },
    open: () => sink.open(),
    free,
    write: (records: readonly FerryRecord[], options?: Parameters<Sink['write']>[1]) => sink.write(records, options),
    close: () => sink.close(),
    ...(position === undefined ? {} : { position: () => position.call(sink) }),
    ...(reconcile === undefined
      ? {}
      : { reconcile: (records: readonly FerryRecord[], since?: string) => reconcile.call(sink, records, since) }),
    ...(directTarget === undefined ? {} : { directTarget: () => directTarget.call(sink) }),
  });
}
