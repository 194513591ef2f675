#!/usr/bin/env node
import { main } from './main.js';

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
// Exit now rather than wait for a driver's lingering timers; stdout and stderr are written synchronously.
process.exit(code);
