// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about ${VAR} in plain strings
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, forgetSecrets, maskSecrets } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { interpolateEnv, loadConfigFile, parseConfigText, readConfigInput } from './config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const yamlConfig = `
connections:
  default: { kind: redis-stream, url: "redis://\${REDIS_HOST:-127.0.0.1}:6379" }
flows:
  s2s-demo:
    source: { connection: default, stream: in, mode: range }
    sink: { connection: default, stream: out, maxLen: 100000 }
    batchSize: 1000
`;

describe('interpolateEnv', () => {
  it('replaces ${VAR} and ${VAR:-default} in string values', () => {
    const out = interpolateEnv(
      { a: 'x-${A}-y', b: ['${B:-dflt}'], c: { d: '${C:-}' }, n: 3, t: true, z: null },
      { A: 'one' },
    );
    expect(out).toEqual({ a: 'x-one-y', b: ['dflt'], c: { d: '' }, n: 3, t: true, z: null });
  });

  it('uses the default when the variable is set but empty, as the shell does', () => {
    expect(interpolateEnv({ a: '${A:-d}', b: '${B}' }, { A: '', B: '' })).toEqual({ a: 'd', b: '' });
  });

  it('leaves keys alone and reads $${ as a literal ${', () => {
    expect(interpolateEnv({ '${K}': 'cost $${PRICE}' }, { K: 'no' })).toEqual({ '${K}': 'cost ${PRICE}' });
  });

  it('names every unset variable and where it is used', () => {
    const run = () =>
      interpolateEnv(
        { connections: { rabbit: { url: 'amqp://guest:${RABBIT_PASSWORD}@h' } }, list: ['${OTHER}'] },
        {},
        'ferry.yaml',
      );
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/ferry\.yaml/);
    expect(run).toThrow(/connections\.rabbit\.url uses \$\{RABBIT_PASSWORD\}, which is not set/);
    expect(run).toThrow(/list\[0\] uses \$\{OTHER\}/);
  });
});

describe('${file:…}', () => {
  const secret = 'p@ss "wörd"';
  const secretFile = file('redis-password', `${secret}\n`);

  it('reads a file once, its trailing newline dropped, beside ${VAR}, with ${VAR} in its path', () => {
    const input = {
      a: '${file:' + secretFile + '}',
      b: ['x${file:${DIR}/redis-password}y'],
      c: '${file:redis-password}',
    };
    expect(interpolateEnv(input, { DIR: dir }, 'ferry.yaml', dir)).toEqual({
      a: secret,
      b: [`x${secret}y`],
      c: secret,
    });
  });

  it('reads $${file:…} as a literal, and nothing a variable holds as a reference', () => {
    expect(interpolateEnv({ a: '$${file:/x}', b: '${V}' }, { V: '${file:/etc/passwd}' })).toEqual({
      a: '${file:/x}',
      b: '${file:/etc/passwd}',
    });
  });

  it('names the key and the path of a file that cannot be read, never what a file holds', () => {
    const missing = join(dir, 'no-such-secret');
    const run = () =>
      interpolateEnv({ connections: { r: { url: '${file:' + missing + '}', password: '${file:/}' } } }, {}, 'f.yml');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(`connections.r.url reads \${file:${missing}}: no such file`);
    expect(run).toThrow('connections.r.password reads ${file:/}: it is a directory');
  });

  it('masks what the files held wherever it is shown', () => {
    forgetSecrets();
    const path = file(
      'with-file.yml',
      'connections:\n  r: { kind: redis-stream, url: "redis://h:1", password: "${file:redis-password}" }\n',
    );
    readConfigInput(path, {});
    expect(maskSecrets(`refused ${secret} and ${encodeURIComponent(secret)}`)).toBe('refused *** and ***');
    forgetSecrets();
  });
});

describe('parseConfigText', () => {
  it('names the file and the line of a YAML syntax error', () => {
    const run = () => parseConfigText('flows:\n  a: [1, 2\n  b: 3\n', 'bad.yaml');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/cannot parse bad\.yaml as YAML: .*line \d+, column \d+/);
  });

  it('names the file and the line of a JSON syntax error', () => {
    expect(() => parseConfigText('{\n  "flows": {},\n}', 'bad.json')).toThrow(
      /cannot parse bad\.json as JSON at line 3, column 1/,
    );
  });

  it('reads an unknown extension as YAML, which also reads JSON', () => {
    expect(parseConfigText('{"flows": {}}', 'ferry.conf')).toEqual({ flows: {} });
    expect(parseConfigText('flows: {}', 'ferry.conf')).toEqual({ flows: {} });
  });

  it('refuses an empty file', () => {
    expect(() => parseConfigText('# nothing\n', 'empty.yml')).toThrow(/empty\.yml is empty/);
  });

  it('refuses an alias bomb as a config error naming the file', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) {
      const previous = String.fromCharCode(97 + i);
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const run = () => parseConfigText(lines.join('\n'), 'bomb.yaml');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/cannot parse bomb\.yaml as YAML: Excessive alias count/);
  });

  it('refuses duplicate keys', () => {
    expect(() => parseConfigText('flows: {}\nflows: {}\n', 'dup.yml')).toThrow(/unique/);
  });
});

describe('loadConfigFile', () => {
  it('loads YAML, interpolates and fills the flow defaults', () => {
    const config = loadConfigFile(file('ferry.yaml', yamlConfig), {});
    expect(config.connections.default).toEqual({ kind: 'redis-stream', url: 'redis://127.0.0.1:6379' });
    const flow = config.flows['s2s-demo']!;
    expect(flow.batchSize).toBe(1000);
    expect(flow.stopWhenEmpty).toBe(true);
    expect(flow.whenFull).toBe('wait');
    expect(flow.maxBatches).toBeUndefined();
    expect(flow.source).toMatchObject({ connection: 'default', stream: 'in', mode: 'range' });
  });

  it('loads JSON by its extension', () => {
    const path = file(
      'ferry.json',
      JSON.stringify({
        connections: { r: { kind: 'redis-stream', url: '${URL}' } },
        flows: { f: { source: { connection: 'r', stream: 'a' }, sink: { connection: 'r', stream: 'b' } } },
      }),
    );
    expect(loadConfigFile(path, { URL: 'redis://h:1' }).connections.r?.url).toBe('redis://h:1');
  });

  it('names the field, the value and what is allowed', () => {
    const path = file('bad-batch.yml', yamlConfig.replace('batchSize: 1000', 'batchSize: 0'));
    const run = () => loadConfigFile(path, {});
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/bad-batch\.yml/);
    expect(run).toThrow(/flows\.s2s-demo\.batchSize: .*(got 0)/);
  });

  it('names a missing file', () => {
    const path = join(dir, 'nope.yaml');
    expect(() => readConfigInput(path, {})).toThrow(`cannot read config file ${path}: no such file`);
  });
});
