import type { FidelityEnd, FidelitySourceCase } from '@ferry/core';
import { bodyOf, jsonBodies, type MessageView, textOrBytes } from '@ferry/testkit/fidelity';
import { jsonBodyExpectation, jsonBodyRefusals } from '@ferry/testkit/fidelity-json-bodies';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';

/**
 * NATS JetStream in the fidelity matrix. As a source, the `json` family:
 * bodies as an outside publisher sends them with the NATS client, bytes with
 * the `ferry-types` header the README names, each with its case's name in
 * `Nats-Msg-Id`. As a target, what the stream stores of every case, read by
 * sequence (the body as text, compared byte for byte, and `ferry-types`),
 * from the README's "Types: JSON bodies ↔ ferry values".
 */

/** Every message a stream stores, read by sequence (no consumer takes them): by Nats-Msg-Id. */
export async function readMessages(jsm: JetStreamManager, stream: string): Promise<Map<string, MessageView>> {
  const out = new Map<string, MessageView>();
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return out;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(stream, { seq });
    if (message === null) continue;
    const types = message.header.has('ferry-types') ? message.header.get('ferry-types') : undefined;
    const body = textOrBytes(Buffer.from(message.data));
    const id = message.header.has('Nats-Msg-Id') ? message.header.get('Nats-Msg-Id') : `${stream}:${seq}`;
    out.set(id, types === undefined ? { body } : { body, types: JSON.parse(types) });
  }
  return out;
}

/** NATS's row and column of the fidelity matrix, on the end's clients; `create` makes a stream and its subject. */
export function natsFidelity(
  clients: { readonly js: JetStreamClient; readonly jsm: JetStreamManager },
  name: (label: string) => string,
  create: (stream: string) => Promise<void>,
  subjectOf: (stream: string) => string,
): FidelityEnd {
  const cases: FidelitySourceCase[] = jsonBodies.map((kase) =>
    Object.hasOwn(jsonBodyRefusals, kase.name)
      ? { name: kase.name, refused: jsonBodyRefusals[kase.name]! }
      : { name: kase.name, reads: `json/${kase.name}` },
  );
  return {
    cases,
    async seed(label) {
      const stream = name(label);
      await create(stream);
      for (const kase of jsonBodies) {
        const headers = natsHeaders();
        if (kase.types !== undefined) headers.set('ferry-types', JSON.stringify(kase.types));
        await clients.js.publish(subjectOf(stream), bodyOf(kase), { msgID: kase.name, headers });
      }
      return { names: [stream], cases: new Map(jsonBodies.map((kase) => [kase.name, kase.name])) };
    },
    create: (stream) => create(stream),
    read: (stream) => readMessages(clients.jsm, stream),
    expect: jsonBodyExpectation,
  };
}
