import { maskSecrets } from '@ferry/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DashboardMonitor } from './dashboard-monitor.js';

/** `/ui/events`, a Server-Sent Events stream of the monitor's pictures, and `/ui/snapshot`, one picture. */
export function registerEvents(app: FastifyInstance, monitor: DashboardMonitor): void {
  const streams = new Set<FastifyReply['raw']>();
  app.get('/ui/snapshot', async () => monitor.snapshot());

  app.get('/ui/events', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies that buffer (nginx) would hold the events back.
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    streams.add(raw);
    const unsubscribe = monitor.subscribe((_snapshot, json) => {
      // The stream is hijacked from Fastify: its onSend hook does not mask it.
      raw.write(`event: snapshot\ndata: ${maskSecrets(json)}\n\n`);
    });
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(raw);
    };
    request.raw.on('close', end);
    raw.on('close', end);
  });

  // Open event streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const raw of streams) raw.end();
    streams.clear();
  });
  app.addHook('onClose', async () => {
    await monitor.close();
  });
}
