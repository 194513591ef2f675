import { createServer, type Socket, connect as tcpConnect } from 'node:net';

/** A local port that nothing listens on (it was free a moment ago): an unreachable server. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface TcpRelay {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` and passes each connection on to `host`:`to`: a server that comes up later. */
export async function tcpRelay(port: number, to: number, host = '127.0.0.1'): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(to, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket
        .on('error', () => socket.destroy())
        .on('close', () => {
          sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
