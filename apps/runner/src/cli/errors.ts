import { ConfigError, describeError, maskSecrets } from '@ferry/core';
import { BadRequestError } from '../jobs/job-spec.js';
import { exitCodes } from './command.js';
import { UsageError } from './run-args.js';

/** `error: <message>`, then each cause that the message does not already say; secrets masked. */
export function formatError(error: unknown): string {
  let text = `error: ${describeError(error)}`;
  const seen = new Set<unknown>([error]);
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined && cause !== null && !seen.has(cause)) {
    seen.add(cause);
    const message = describeError(cause);
    const isZod = cause instanceof Error && cause.name === 'ZodError';
    if (!isZod && message !== '' && !text.includes(message)) text += `\n  caused by: ${message}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return maskSecrets(text);
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError || error instanceof UsageError || error instanceof BadRequestError) {
    return exitCodes.usage;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return exitCodes.usage;
  return exitCodes.failed;
}
