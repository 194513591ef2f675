import type { Sink, Source } from './contracts.js';
import type { ConnectionKind, SystemLetter } from './edges.js';
import type { EndpointTarget } from './endpoint-target.js';

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
  /**
   * The stream, queue, collection or table that a source's or a sink's
   * options name, and its server, without connecting; undefined where the
   * options cannot tell (a sink publishing to an exchange, a ready client).
   * Options are those the factories take, already found valid.
   */
  target?(role: 'source' | 'sink', options: unknown): EndpointTarget | undefined;
}
