// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write the config's own ${file:…} syntax
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, dropPrefix, type FerryProcess, startFerry, uniquePrefix } from './support/api.js';
import { configFile, ferry, redisUrl } from './support/cli.js';

// A password given in a connection URL never shows in what ferry prints:
// errors, validation messages, progress. (The API's answers are covered in api.test.ts.)
const password = 'pa55-w0rd-never-shown';

describe('secrets stay out of messages', () => {
  it('an unreachable server with a password in its URL: the error names host:port, never the password', async () => {
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "redis://ferry:${password}@127.0.0.1:1" }`,
        `  rabbit: { kind: rabbitmq, url: "amqp://ferry:${password}@127.0.0.1:1" }`,
        'flows:',
        '  s2s: { source: { stream: a }, sink: { stream: b }, retry: { retries: 0 } }',
        '  q2s: { source: { connection: rabbit, queue: q }, sink: { stream: b }, retry: { retries: 0 } }',
      ].join('\n'),
    );
    for (const flow of ['s2s', 'q2s']) {
      const run = await ferry(['run', file, flow]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('127.0.0.1:1');
      expect(run.stdout + run.stderr).not.toContain(password);
    }
  });

  it('a refused option that quotes a URL or a password-named key masks it', async () => {
    const file = configFile(
      [
        'connections:',
        `  default: { kind: redis-stream, url: "redis://ferry:${password}@127.0.0.1:6379" }`,
        `  ch: { kind: clickhouse, url: "http://127.0.0.1:8123", password: 12345 }`,
        'flows:',
        '  s2s: { source: { stream: a, mode: nope }, sink: { stream: b, url: 5 } }',
        '  s2c: { source: { stream: a }, sink: { connection: ch, table: t } }',
      ].join('\n'),
    );
    const run = await ferry(['validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('mode: Invalid option');
    expect(run.stderr).toContain('password: Invalid input: expected string, received number (got ***)');
    expect(run.stderr).not.toContain(password);
    expect(run.stderr).not.toContain('12345');
  });
});

describe('config files: secrets from files, and what cannot be parsed', () => {
  it('${file:…} gives a connection its password; a file that cannot be read names the key and the path', async () => {
    const secret = `file pw@ "ü" ${randomBytes(3).toString('hex')}`;
    const path = configFile(`${encodeURIComponent(secret)}\n`, 'txt');
    const good = configFile(
      `connections:\n  default: { kind: redis-stream, url: "redis://u:\${file:${path}}@127.0.0.1:1" }\nflows: {}\n`,
    );
    const doctor = await ferry(['doctor', good]);
    expect(doctor.stdout).toContain('redis://u:***@127.0.0.1:1');
    expect(doctor.stdout + doctor.stderr).not.toContain(encodeURIComponent(secret));
    const missing = `${path}.gone`;
    const bad = configFile(`connections:\n  default: { kind: redis-stream, url: "\${file:${missing}}" }\nflows: {}\n`);
    const run = await ferry(['validate', bad]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`connections.default.url reads \${file:${missing}}: no such file`);
  });

  it('a YAML alias bomb is a config error naming the file, printed once', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h'].entries()) {
      lines.push(
        `${name}: &${name} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      );
    }
    const file = configFile(lines.join('\n'));
    for (const args of [
      ['validate', file],
      ['run', file, 'f'],
      ['serve', '--config', file],
    ]) {
      const run = await ferry(args);
      expect(run.code, args[0]).toBe(2);
      expect(run.stderr).toBe(
        `error: [ferry] cannot parse ${file} as YAML: Excessive alias count indicates a resource exhaustion attack\n`,
      );
    }
  });
});

// Every error path ferry has, through the CLI and `ferry serve`, with secrets
// that break naive masking: `@`, spaces, quotes, colons and unicode.
const tag = randomBytes(3).toString('hex');
const secrets = {
  control: `ctl pw@"ünï ${tag}`,
  token: `tok "en" @ ${tag}`,
  wrongRedis: `r:d "wrong"@ ✓ ${tag}`,
  rabbit: `rb "pw" @ ü ${tag}`,
  clickhouse: `ch pw@ "ö" ${tag}`,
  query: `qs@ "ü" ${tag}`,
  cli: `cli:pw@ "é" ${tag}`,
  env: `env pw@ "ß" ${tag}`,
};
const enc = encodeURIComponent;

/** Each way a secret may be written: verbatim, in a URL, form-encoded, escaped in JSON once or twice. */
function forms(secret: string): string[] {
  const url = new URL('x://h');
  url.password = secret;
  const written = [secret, enc(secret), url.password, new URLSearchParams({ v: secret }).toString().slice(2)];
  const escaped = written.map((w) => JSON.stringify(w).slice(1, -1));
  return [...new Set([...written, ...escaped, ...escaped.map((w) => JSON.stringify(w).slice(1, -1))])];
}

/** Where a secret shows in the output, as `label: …context…`, for the failure message. */
function leaks(output: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [label, text] of Object.entries(output)) {
    for (const secret of Object.values(secrets)) {
      for (const form of forms(secret)) {
        const at = text.indexOf(form);
        if (at >= 0) found.push(`${label}: …${text.slice(Math.max(0, at - 60), at + form.length + 20)}…`);
      }
    }
  }
  return found;
}

describe('the secret search: no error path prints a secret', () => {
  const user = `ferry-secrets-${tag}`;
  const prefix = uniquePrefix('secrets');
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const output: Record<string, string> = {};
  let server: FerryProcess | undefined;

  beforeAll(async () => {
    // A Redis user of its own whose password holds every hard character: the control store logs in as it.
    await admin.call('ACL', 'SETUSER', user, 'on', `>${secrets.control}`, '~*', '&*', '+@all');
  });
  afterAll(async () => {
    await server?.stop(5000);
    await dropPrefix(prefix);
    await admin.call('ACL', 'DELUSER', user);
    await admin.quit();
  });

  const controlUrl = `redis://${user}:${enc(secrets.control)}@127.0.0.1:6379`;
  const wrongFile = configFile(enc(secrets.wrongRedis), 'txt');
  const stream = (name: string) => `secrets.${tag}.${name}`;
  const config = configFile(
    [
      `control: { url: ${JSON.stringify(controlUrl)} }`,
      `api: { token: ${JSON.stringify(secrets.token)} }`,
      'connections:',
      `  default: { kind: redis-stream, url: ${JSON.stringify(controlUrl)} }`,
      `  wrong: { kind: redis-stream, url: "redis://${user}:\${file:${wrongFile}}@127.0.0.1:6379" }`,
      `  gone: { kind: redis-stream, url: ${JSON.stringify(controlUrl.replace(':6379', ':1'))} }`,
      `  rabbit: { kind: rabbitmq, url: "amqp://guest:${enc(secrets.rabbit)}@127.0.0.1:5672" }`,
      `  ch: { kind: clickhouse, url: "http://127.0.0.1:18123", username: nobody_${tag}, password: ${JSON.stringify(secrets.clickhouse)} }`,
      'flows:',
      `  wrong: { source: { connection: wrong, stream: ${stream('a')} }, sink: { stream: ${stream('b')} }, retry: { retries: 0 } }`,
      `  gone: { source: { connection: gone, stream: ${stream('a')} }, sink: { stream: ${stream('b')} }, retry: { retries: 0 } }`,
      `  rabbit: { source: { connection: rabbit, queue: q-${tag} }, sink: { stream: ${stream('b')} }, retry: { retries: 0 } }`,
      `  ch: { source: { connection: ch, table: t_${tag}, cursor: id }, sink: { stream: ${stream('b')} }, retry: { retries: 0 } }`,
    ].join('\n'),
  );

  it('the command line: bad scheme, wrong type, unreachable, wrong credentials, doctor', async () => {
    const runs: [string, string[], number, Record<string, string>?][] = [
      ['ftp', ['run', '--source-url', `ftp://user:${enc(secrets.cli)}@127.0.0.1/x`], 2],
      ['query', ['run', '--source-url', `x-unknown://127.0.0.1:1/?user=u&password=${enc(secrets.query)}`], 2],
      ['env', ['jobs'], 2, { FERRY_REDIS_URL: `http://user:${enc(secrets.env)}@127.0.0.1:1` }],
      ['type', ['validate', configFile(`api: ${JSON.stringify(secrets.token)}\nconnections: {}\nflows: {}\n`)], 2],
      ['doctor', ['doctor', config], 1],
      ...['wrong', 'gone', 'rabbit', 'ch'].map((flow): [string, string[], number] => [
        `run ${flow}`,
        ['run', config, flow],
        1,
      ]),
    ];
    for (const [label, args, code, env] of runs) {
      const run = await ferry(args, { env: env ?? {} });
      output[label] = run.stdout + run.stderr;
      expect(run.code === code || run.code === 2, `${label}: ${output[label]}`).toBe(true);
      expect(output[label]).toMatch(/\*\*\*|error|FAILED/);
    }
    expect(output['run gone']).toContain('127.0.0.1:1');
    expect(output.query).toContain('x-unknown://127.0.0.1:1/?user=u&password=***');
    expect(output.doctor).toMatch(/wrong .*FAILED/);
    expect(leaks(output)).toEqual([]);
  });

  it('ferry serve: 400, 401, 404, failed jobs, metrics, dashboard, and what BullMQ stored', async () => {
    server = await startFerry('serve', ['--config', config, '--prefix', prefix]);
    const api = apiClient(server.url, secrets.token);
    const anonymous = apiClient(server.url);
    const ids: string[] = [];
    for (const flow of ['wrong', 'gone', 'rabbit', 'ch']) {
      const res = await api.post('/flows', { flow });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const id of ids) expect((await api.waitFor(id)).state).toBe('failed');
    const answers: [string, Response][] = [
      ['401', await anonymous.get('/jobs')],
      ['400', await api.post('/flows', { source: { stream: 'a', url: controlUrl }, sink: { stream: secrets.query } })],
      ['400 s2s', await api.post('/s2s/', { source_stream: { url: controlUrl } })],
      ['404', await api.get(`/jobs/${enc(secrets.control)}`)],
      ['meta', await api.get('/jobs/meta')],
      ['jobs', await api.get('/jobs')],
      ['metrics', await api.get('/metrics')],
      ['snapshot', await api.get('/ui/snapshot')],
      ...(await Promise.all(
        ids.map(async (id): Promise<[string, Response]> => [`job ${id}`, await api.get(`/jobs/${id}`)]),
      )),
    ];
    for (const [label, res] of answers) output[`api ${label} ${res.status}`] = await res.text();
    expect(answers.map(([, res]) => res.status).slice(0, 3)).toEqual([401, 400, 400]);
    expect(answers[3]?.[1].status).toBeGreaterThanOrEqual(400);
    for (const id of ids) {
      const stored = await admin.hgetall(`${prefix}:ferry-flows:${id}`);
      expect(stored.failedReason).toBeTruthy();
      output[`bullmq ${id}`] = JSON.stringify(stored);
    }
    await server.stop(5000);
    output.serve = server.stderr();
    expect(output.serve).toMatch(/failed/);
    expect(leaks(output)).toEqual([]);
  }, 120_000);
});
