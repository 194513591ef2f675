import type { FidelityEnd, FidelitySourceCase } from '@ferry/core';
import { bodyOf, jsonBodies, type MessageView, textOrBytes } from '@ferry/testkit/fidelity';
import { jsonBodyExpectation, jsonBodyRefusals } from '@ferry/testkit/fidelity-json-bodies';
import type { ConfirmChannel } from 'amqplib';

/**
 * RabbitMQ in the fidelity matrix. As a source, the `json` family: bodies as
 * an outside publisher sends them with amqplib, bytes with the `ferry-types`
 * header the README names. As a target, what basic.get reads back of every
 * case (the body as text, compared byte for byte, and `ferry-types`), from
 * the README's "Types: JSON bodies ↔ ferry values".
 */

/** Every message of a queue through basic.get (acked): by messageId. */
export async function readQueue(channel: ConfirmChannel, queue: string): Promise<Map<string, MessageView>> {
  const out = new Map<string, MessageView>();
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) return out;
    const header = message.properties.headers?.['ferry-types'] as string | Buffer | undefined;
    const body = textOrBytes(message.content);
    out.set(
      String(message.properties.messageId),
      header === undefined ? { body } : { body, types: JSON.parse(header.toString()) },
    );
  }
}

/** RabbitMQ's row and column of the fidelity matrix, on the end's channel. */
export function rabbitMqFidelity(channel: () => Promise<ConfirmChannel>, name: (label: string) => string): FidelityEnd {
  const cases: FidelitySourceCase[] = jsonBodies.map((kase) =>
    Object.hasOwn(jsonBodyRefusals, kase.name)
      ? { name: kase.name, refused: jsonBodyRefusals[kase.name]! }
      : { name: kase.name, reads: `json/${kase.name}` },
  );
  return {
    cases,
    async seed(label) {
      const queue = name(label);
      const ch = await channel();
      await ch.assertQueue(queue, { durable: true });
      for (const kase of jsonBodies) {
        ch.sendToQueue(queue, bodyOf(kase), {
          persistent: true,
          contentType: 'application/json',
          messageId: kase.name,
          ...(kase.types === undefined ? {} : { headers: { 'ferry-types': JSON.stringify(kase.types) } }),
        });
      }
      await ch.waitForConfirms();
      return { names: [queue], cases: new Map(jsonBodies.map((kase) => [kase.name, kase.name])) };
    },
    async create(queue) {
      await (await channel()).assertQueue(queue, { durable: true });
    },
    read: async (queue) => readQueue(await channel(), queue),
    expect: jsonBodyExpectation,
  };
}
