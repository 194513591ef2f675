import type { CommandHandler } from '../command.js';
import { serve } from '../serving.js';

/** `ferry serve`: the HTTP API and a worker in one process. */
export const serveCommand: CommandHandler = (args, io, registry) => serve('serve', args, io, registry);
