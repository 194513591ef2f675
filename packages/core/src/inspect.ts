import type { DeadLetterSummary } from './connector.js';
import { ConnectionError, FerryError, isNetworkError } from './errors.js';
import { withTimeout } from './retry.js';
import { maskSecrets } from './secrets.js';

/** How servers and drivers refuse a login, and how ferry's clients say they classified one. */
const refusedLogin =
  /NOAUTH|WRONGPASS|invalid username|ACCESS.REFUSED|Authentication failed|Wrong password|Unknown user|refused the credentials/i;
/** How a driver says that no server answered. */
const noAnswer = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|no answer|timed out/i;

/** An error's words; Node's connect errors can have an empty message and only a code. */
function said(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return error.message || (typeof code === 'string' ? code : error.name);
}

/** A failure and the errors it wraps, outermost first: ferry's errors are followed down to the driver's. */
function causes(error: unknown): unknown[] {
  const chain = [error];
  let current = error;
  while (current instanceof FerryError && current.cause instanceof Error && chain.length < 8) {
    current = current.cause;
    chain.push(current);
  }
  return chain;
}

/**
 * A failed question to a server in the words an operator acts on:
 * `credentials refused: …` or `unreachable: …` before the driver's own words
 * (the innermost error: a connector's wrapping repeats the server, which the
 * caller shows already), else those words alone. `shorten` keeps the part of
 * them that matters (`no queue 'x' in vhost '/'` of an AMQP reply).
 */
export function explainProbeFailure(error: unknown, shorten: (text: string) => string = (text) => text): string {
  const chain = causes(error);
  const text = shorten(maskSecrets(said(chain[chain.length - 1])));
  const all = chain.map(said).join('\n');
  if (refusedLogin.test(all)) return `credentials refused: ${text}`;
  if (chain.some((e) => e instanceof ConnectionError || isNetworkError(e)) || noAnswer.test(all)) {
    return `unreachable: ${text}`;
  }
  return text;
}

/**
 * One question of an inspector: `run` bounded by `timeoutMs`, its failure
 * rejected as an Error whose message is `explainProbeFailure`'s reason and
 * whose cause is the failure.
 */
export async function inspectCall<T>(
  what: string,
  timeoutMs: number,
  run: () => Promise<T>,
  shorten?: (text: string) => string,
): Promise<T> {
  try {
    return await withTimeout(run(), timeoutMs, () => new Error(`${what}: no answer in ${timeoutMs / 1000} s`));
  } catch (error) {
    throw new Error(explainProbeFailure(error, shorten), { cause: error });
  }
}

/**
 * A dead letter as the pump writes it (`reason`, `sourceId`, `rejectedAt` as
 * a timestamp or its ISO text), from a decoded value; `id` is where it is kept.
 */
export function deadLetterSummary(value: Readonly<Record<string, unknown>>, id?: string): DeadLetterSummary {
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const when = value.rejectedAt;
  const at = when instanceof Date ? (Number.isNaN(when.getTime()) ? undefined : when.toISOString()) : text(when);
  const sourceId = text(value.sourceId);
  return {
    ...(id === undefined ? {} : { id }),
    reason: text(value.reason) ?? '(no reason recorded)',
    ...(sourceId === undefined ? {} : { sourceId }),
    ...(at === undefined ? {} : { at }),
  };
}
