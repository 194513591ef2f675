import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { getFlow, parseConfig } from './config.js';
import { ConfigError } from './errors.js';
import { parseOptions } from './options.js';
import { maskSecrets } from './secrets.js';

const good = {
  connections: { default: { kind: 'redis-stream', url: 'redis://127.0.0.1:6379' } },
  flows: {
    's2s-demo': {
      source: { connection: 'default', stream: 'in', mode: 'range' },
      sink: { connection: 'default', stream: 'out', maxLen: 100000 },
      batchSize: 1000,
      maxBatches: 10,
    },
  },
};

function problems(input: unknown): string {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('config schema', () => {
  it('fills the defaults of a flow and keeps connector keys for the connector to check', () => {
    const config = parseConfig(good);
    const flow = getFlow(config, 's2s-demo');
    expect(flow).toMatchObject({
      batchSize: 1000,
      maxBatches: 10,
      stopWhenEmpty: true,
      whenFull: 'wait',
      pollIntervalMs: 1000,
      retry: { retries: 8, initialDelayMs: 100, maxDelayMs: 10000, factor: 2 },
      source: { connection: 'default', stream: 'in', mode: 'range' },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the field, the value and what is allowed', () => {
    const message = problems({
      ...good,
      flows: { bad: { ...good.flows['s2s-demo'], batchSize: 0, whenFull: 'block' } },
    });
    expect(message).toContain('[ferry] invalid config:');
    expect(message).toContain('flows.bad.batchSize: Too small: expected number to be >0 (got 0)');
    expect(message).toContain('flows.bad.whenFull: Invalid option: expected one of "wait"|"stop" (got "block")');
  });

  it('takes the control store and API settings of the runner, and refuses a control url that is not Redis', () => {
    const config = parseConfig({
      ...good,
      control: { url: 'redis://10.0.0.5:6379', prefix: 'ferry' },
      api: { token: 't' },
    });
    expect(config.control).toEqual({ url: 'redis://10.0.0.5:6379', prefix: 'ferry' });
    expect(config.api).toEqual({ token: 't', s2sWithoutToken: false, minScheduleSeconds: 1 });
    expect(problems({ ...good, api: { minScheduleSeconds: 0 } })).toContain('api.minScheduleSeconds: Too small');
    expect(problems({ ...good, api: { s2sWithoutToken: 'yes' } })).toContain('api.s2sWithoutToken');
    expect(getFlow(config, 's2s-demo').parallelism).toBe(1);
    expect(problems({ ...good, control: { url: 'http://x' } })).toContain(
      'control.url: expected a redis:// or rediss:// URL (got "http://x")',
    );
  });

  it('takes the tls of a rediss:// control store and names a key it does not know', () => {
    const control = { url: 'rediss://10.0.0.5:6380', tls: { caFile: '/etc/ferry/ca.pem' } };
    expect(parseConfig({ ...good, control }).control?.tls).toEqual({
      caFile: '/etc/ferry/ca.pem',
      rejectUnauthorized: true,
    });
    expect(problems({ ...good, control: { ...control, tls: { cafile: '/x' } } })).toContain(
      'control.tls: Unrecognized key: "cafile"',
    );
  });

  it('refuses unknown flow keys, so that a typo does not pass silently', () => {
    const message = problems({ ...good, flows: { bad: { ...good.flows['s2s-demo'], batchsize: 5 } } });
    expect(message).toContain('flows.bad: Unrecognized key: "batchsize"');
  });

  it('refuses a flow that names a connection the config does not have', () => {
    const message = problems({
      ...good,
      flows: { bad: { ...good.flows['s2s-demo'], sink: { connection: 'other', stream: 'x' } } },
    });
    expect(message).toContain('flows.bad.sink.connection: no connection named "other"; the config names "default"');
  });

  it('refuses a connection kind that no registered connector has, naming those there are', () => {
    const input = { connections: { k: { kind: 'kafka', url: 'x' } }, flows: {} };
    expect(() => parseConfig(input, 'config', ['redis-stream', 'nats'])).toThrow(
      'connections.k.kind: Invalid option: expected one of "redis-stream"|"nats" (got "kafka")',
    );
    // Without the registered kinds (a plug-in may bring any), only the shape is checked.
    expect(parseConfig(input).connections.k?.kind).toBe('kafka');
  });

  it('names the flows it has when asked for one it has not', () => {
    expect(() => getFlow(parseConfig(good), 'nope')).toThrow(
      '[ferry] no flow named "nope"; the config names "s2s-demo"',
    );
  });
});

describe('secrets in messages', () => {
  it('masks URL passwords and secret-named keys in what a refused option quotes', () => {
    const schema = z.strictObject({ url: z.string().startsWith('redis://'), password: z.string().min(10) });
    let message = '';
    try {
      parseOptions(schema, { url: 'amqp://user:hunter2@h:5672', password: 'short-pw' }, '[x] invalid options');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('url: Invalid string: must start with "redis://" (got "amqp://user:***@h:5672")');
    expect(message).toContain('password: Too small: expected string to have >=10 characters (got ***)');
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('short-pw');
    const tls = { passphrase: 1234, key: 56 };
    const refused = problems({ ...good, control: { url: 'rediss://h', tls } });
    expect(refused).toContain('control.tls.passphrase: Invalid input: expected string, received number (got ***)');
    expect(refused).toContain('control.tls.key: Invalid input: expected string, received number (got ***)');
    expect(maskSecrets('redis://default:s3cret@10.0.0.1:6379/0 and amqp://u:p@h')).toBe(
      'redis://default:***@10.0.0.1:6379/0 and amqp://u:***@h',
    );
  });
});
