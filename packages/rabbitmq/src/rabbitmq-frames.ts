import type { ChannelModel } from 'amqplib';
import { socketOf } from './rabbitmq-client.js';

/**
 * How much a sink's socket holds before amqplib's flow control pushes back
 * (publish() returns false). Node's default, 16 KiB, is about a hundred small
 * messages: a batch's frames could not wait in the socket to leave together.
 */
export const sinkWriteBufferBytes = 4 * 1024 * 1024;

/**
 * Sends the frames of a batch in one socket write instead of one per message.
 * amqplib writes each publish to the socket on its own; on a machine where
 * the broker shares the cores, a thousand small writes cost both sides CPU
 * that a single write does not (a third of the client's time per message,
 * and the broker reads one buffer instead of a thousand segments).
 */
export interface FrameBatcher {
  /** From here, the frames amqplib hands the socket wait in its buffer. */
  hold(): void;
  /** Sends what waits as one write, once amqplib has handed the socket every frame published so far. */
  flush(): Promise<void>;
  /** Sends what waits now (on the way out of a failed write): nothing stays corked. */
  release(): void;
}

/**
 * amqplib moves frames from a channel to the socket in a setImmediate queued
 * from the channel buffer's 'readable' event (itself a nextTick): two turns of
 * the event loop after the last publish they are all in the socket.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const passThrough: FrameBatcher = { hold() {}, flush: async () => undefined, release() {} };

/** The batcher of a connection's socket; one that does nothing when amqplib does not show its socket. */
export function frameBatcher(model: ChannelModel): FrameBatcher {
  const socket = socketOf(model);
  const cork = socket?.cork?.bind(socket);
  const uncork = socket?.uncork?.bind(socket);
  if (cork === undefined || uncork === undefined) return passThrough;
  let held = false;
  const release = () => {
    if (!held) return;
    held = false;
    uncork();
  };
  return {
    hold() {
      if (held) return;
      held = true;
      cork();
    },
    async flush() {
      if (!held) return;
      await nextTurn();
      await nextTurn();
      release();
    },
    release,
  };
}
