/**
 * ferry's error family. The pump decides what to do with an error by reading
 * `transient`, never by parsing its message: connectors classify an error
 * where they raise it, because only they know what their driver's failures mean.
 */
export interface FerryErrorOptions {
  cause?: unknown;
}

export class FerryError extends Error {
  override readonly name: string = 'FerryError';
  /** A transient error may succeed when the same call is tried again. */
  readonly transient: boolean = false;

  constructor(message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** A flow spec, connection or option that cannot work as written. Never retried. */
export class ConfigError extends FerryError {
  override readonly name = 'ConfigError';
}

/** A service could not be reached or the connection broke. Retried with backoff. */
export class ConnectionError extends FerryError {
  override readonly name = 'ConnectionError';
  override readonly transient = true;
}

/** A call that may succeed later (a timeout, a busy server, flow control). Retried with backoff. */
export class TransientError extends FerryError {
  override readonly name = 'TransientError';
  override readonly transient = true;
}

/**
 * One record that a source cannot decode or a sink refuses. It names the
 * record so that the operator can find it; the batch holding it is not acked.
 */
export class RecordRejectedError extends FerryError {
  override readonly name = 'RecordRejectedError';
  readonly recordId: string;
  readonly reason: string;

  constructor(recordId: string, reason: string, message: string, options: FerryErrorOptions = {}) {
    super(message, options);
    this.recordId = recordId;
    this.reason = reason;
  }
}

/**
 * A source cannot ack a batch any more because it lost its hold on it (the
 * channel it came on closed): the broker has put the batch back and will
 * deliver it again. Nothing is lost; the batch is in doubt, written but not
 * acked, and the pump drops its records from the redelivery where the sink can tell.
 */
export class LeaseLostError extends FerryError {
  override readonly name = 'LeaseLostError';
}

/** Anything else that must stop the flow: retrying cannot help. */
export class FatalError extends FerryError {
  override readonly name = 'FatalError';
}

/** True when the error says that trying the same call again may succeed. */
export function isTransient(error: unknown): boolean {
  return error instanceof FerryError && error.transient;
}

/** The message of any thrown value, for logs and stop reasons. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/**
 * Runs a driver call and turns what it throws into an error of this family:
 * every connector classifies its driver's failures where they happen.
 */
export async function mapErrors<T>(run: () => Promise<T>, toError: (error: unknown) => Error): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toError(error);
  }
}

/** The socket error codes of Node that mean "the server could not be reached or the connection broke". */
const networkErrorCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

/** True for an error whose `code` is one of Node's network failures: a connector makes it a ConnectionError. */
export function isNetworkError(error: unknown): boolean {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && networkErrorCodes.has(code);
}
