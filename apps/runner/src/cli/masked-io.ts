import { maskSecrets, rememberSecrets, secretsOf, urlSecrets } from '@ferry/core';
import type { CliIo } from './command.js';

const unmasked = Symbol('ferry.unmasked');

/** A stream whose text writes are masked; every other property is the stream's own. */
function maskedStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stream, {
    get(target, property) {
      if (property === unmasked) return target;
      if (property === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...args: unknown[]) => boolean)(
            typeof chunk === 'string' ? maskSecrets(chunk) : chunk,
            ...rest,
          );
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The CLI's streams with every secret masked: what a command prints, its
 * logs and its errors. The secrets of the command line and of ferry's own
 * variables are remembered first (a config file's when it is read).
 */
export function maskedIo(argv: readonly string[], io: CliIo): CliIo {
  rememberSecrets([
    ...argv.flatMap(urlSecrets),
    ...secretsOf({ url: io.env.FERRY_REDIS_URL, token: io.env.FERRY_API_TOKEN }),
  ]);
  return { ...io, stdout: maskedStream(io.stdout), stderr: maskedStream(io.stderr) };
}

/** The stream under a masked one, for the one text meant to show a secret (a login URL printed for its operator). */
export function unmaskedStream(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return (stream as NodeJS.WriteStream & { [unmasked]?: NodeJS.WriteStream })[unmasked] ?? stream;
}
