// amqplib reached past its API, in one place: it has no public way to cork a connection's socket or to drop one whose close() hangs.
import { Socket } from 'node:net';
import type { ChannelModel } from 'amqplib';

/** The socket under a channel model (amqplib keeps it as `connection.stream`); undefined if it is no longer there. */
export function socketOf(model: ChannelModel): Socket | undefined {
  const stream = (model.connection as unknown as { stream?: unknown }).stream;
  return stream instanceof Socket ? stream : undefined;
}
