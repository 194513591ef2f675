#!/usr/bin/env node
import { formatError } from './errors.js';
import { main } from './main.js';

// A failure no command caught (a driver's, in a timer) is printed masked, not by Node as it is.
process.on('uncaughtException', (error) => {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(1);
});

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// Exit now rather than wait for a driver's lingering timers; stdout and stderr are written synchronously.
process.exit(code);
