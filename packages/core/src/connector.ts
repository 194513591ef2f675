import type { Sink, Source } from './contracts.js';
import type { ConnectionKind, SystemLetter } from './edges.js';

/**
 * What the runner needs of a connector package: build a source or a sink from
 * a connection (`url`, …) merged with a flow's endpoint keys (`stream`, …).
 * Factories validate their options eagerly and connect only on `open()`,
 * so building one is also how a config is validated.
 */
export interface ConnectorDefinition {
  readonly kind: ConnectionKind;
  readonly letter: SystemLetter;
  createSource(options: unknown): Source;
  createSink(options: unknown): Sink;
}
