import type { CommandHandler } from '../command.js';
import { serve } from '../serving.js';

/** `ferry worker`: a worker only: runs the queued flow jobs. */
export const workerCommand: CommandHandler = (args, io, registry) => serve('worker', args, io, registry);
