import { Socket } from 'node:net';
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { socketOf } from './rabbitmq-internals.js';
import { amqpUrl } from './test-admin.js';

describe('amqplib internals', () => {
  it("finds a connection's socket where amqplib keeps it", async () => {
    const model = await connect(amqpUrl);
    try {
      const socket = socketOf(model);
      expect(socket).toBeInstanceOf(Socket);
      expect(socket?.remotePort).toBe(Number(new URL(amqpUrl).port || 5672));
    } finally {
      await model.close();
    }
  });
});
