#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startMongoTestServer } from './mongo-test-server.js';

const usage = 'usage: mongo-test-server [--port 27017] [--host 127.0.0.1]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '27017' },
      host: { type: 'string', default: '127.0.0.1' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(usage);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`mongo-test-server: --port must be a port number (got ${values.port})\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const server = await startMongoTestServer({ port, host: values.host });
  console.log(`MongoDB test server listening at ${server.url}`);
  console.log(
    "This is ferry's test stand-in, not MongoDB: it keeps data in memory only, loses it on exit, and is not for data anyone cares about.",
  );
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`mongo-test-server: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
