import type { CommandHandler } from '../command.js';
import { serve } from '../serving.js';

/** `ferry api`: the HTTP API only. */
export const apiCommand: CommandHandler = (args, io, registry) => serve('api', args, io, registry);
