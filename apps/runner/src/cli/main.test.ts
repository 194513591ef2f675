import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { installedConnectors } from '../connectors.js';
import { main } from './main.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  const stream = (chunks: string[]) =>
    ({ write: (s: string) => chunks.push(s), isTTY: false }) as unknown as NodeJS.WriteStream;
  return {
    io: { stdout: stream(out), stderr: stream(err), env: {} },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'ferry-main-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('main', () => {
  it('prints help and the version', async () => {
    const t = io();
    expect(await main(['--help'], t.io)).toBe(0);
    expect(t.out()).toMatch(/ferry run <config-file> <flow-name>/);
    const r = io();
    expect(await main(['run', '--help'], r.io)).toBe(0);
    expect(r.out()).toMatch(/--source-url URL/);
    const v = io();
    expect(await main(['--version'], v.io)).toBe(0);
    expect(v.out()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 on an unknown command or flag, or a missing argument', async () => {
    for (const argv of [['fly'], ['run', '--nope'], ['run'], ['validate'], [], ['edges', 'extra']]) {
      const t = io();
      expect(await main(argv, t.io), argv.join(' ')).toBe(2);
    }
  });

  it('prints the edge matrix with the refused edges and why', async () => {
    const t = io();
    expect(await main(['edges'], t.io)).toBe(0);
    // The first four columns; systems registered after them add columns, all permitted but store to store.
    expect(t.out()).toMatch(/^S {8}S2S \* {4}S2Q \* {4}S2M \* {4}S2C \*/m);
    expect(t.out()).toMatch(/^Q {8}Q2S \* {4}Q2Q \* {4}Q2M \* {4}Q2C \*/m);
    expect(t.out()).toMatch(/^C {8}C2S \* {4}C2Q \* {4}refused {2}C2C \*/m);
    expect(t.out()).toMatch(/^M {8}M2S \* {4}M2Q \* {4}M2M \* {4}refused/m);
    const n = installedConnectors.length;
    const stores = installedConnectors.filter((c) => c.holds === 'store').length;
    expect(t.out()).toContain(`${n * n - stores * (stores - 1)} of ${n * n} edges permitted`);
    expect(t.out()).toMatch(/M2C: MongoDB and ClickHouse are both stores/);
  });

  it('validates a config: ok with the flows and their edges, or the problems with exit 2', async () => {
    const good = file(
      'good.yaml',
      'connections:\n  default: { kind: redis-stream, url: "redis://127.0.0.1:1" }\nflows:\n  a: { source: { stream: x }, sink: { stream: y } }\n  b: { source: { stream: y }, sink: { stream: z } }\n',
    );
    const t = io();
    expect(await main(['validate', good], t.io)).toBe(0);
    expect(t.out()).toBe('ok: 2 flows (a S2S, b S2S)\n');

    const bad = file(
      'bad.yaml',
      'connections:\n  default: { kind: redis-stream, url: "redis://h" }\n  m: { kind: mongo, url: "mongodb://h" }\n  c: { kind: clickhouse, url: "http://h" }\nflows:\n  a: { source: { stream: x }, sink: { stream: y } }\n  m2c: { source: { connection: m }, sink: { connection: c } }\n',
    );
    const b = io();
    expect(await main(['validate', bad], b.io)).toBe(2);
    expect(b.err()).toMatch(/1 of 2 flows in .*bad\.yaml cannot run/);
    expect(b.err()).toMatch(/m2c \(M2C\):\n {4}- \[ferry\] flow "m2c": edge M2C is not permitted/);
  });

  it('names the field and the value of a bad config with exit 2', async () => {
    const bad = file(
      'bad-field.yaml',
      'connections:\n  default: { kind: redis-stream, url: "redis://h" }\nflows:\n  a: { source: { stream: x }, sink: { stream: y }, whenFull: explode }\n',
    );
    const t = io();
    expect(await main(['run', bad, 'a'], t.io)).toBe(2);
    expect(t.err()).toMatch(
      /^error: \[ferry\] invalid .*bad-field\.yaml:\n {2}- flows\.a\.whenFull: .*\(got "explode"\)/,
    );
  });
});

describe('secrets in what the CLI prints', () => {
  const password = 'p@ss wö"rd';
  const encoded = encodeURIComponent(password);

  it('masks a URL given on the command line, whatever its scheme', async () => {
    const t = io();
    expect(await main(['run', '--source-url', `ftp://user:${encoded}@127.0.0.1/x`], t.io)).toBe(2);
    expect(t.err()).toContain('ftp://user:***@127.0.0.1/x');
    expect(t.err()).not.toContain(encoded);
  });

  it("masks the control store's URL from the environment and the API token", async () => {
    const t = io();
    const env = { FERRY_REDIS_URL: `http://user:${encoded}@127.0.0.1:1`, FERRY_API_TOKEN: 'tok-123-never' };
    expect(await main(['jobs'], { ...t.io, env })).toBe(2);
    expect(t.err()).toContain('must be a redis:// or rediss:// URL, got "http://user:***@127.0.0.1:1"');
    expect(t.err()).not.toContain(encoded);
  });

  it('masks a password of the config file wherever it would show, and a token given where a section goes', async () => {
    const bad = file(
      'secret-field.yaml',
      `connections:\n  default: { kind: redis-stream, url: "redis://h", password: ${JSON.stringify(password)} }\napi: ${JSON.stringify(password)}\nflows: {}\n`,
    );
    const t = io();
    expect(await main(['validate', bad], t.io)).toBe(2);
    expect(t.err()).toMatch(/api: .*\(got a text\)/);
    expect(t.err()).not.toContain(password);
    expect(t.err().match(/error:/g)).toHaveLength(1);
  });
});

describe('the command table', () => {
  it('dispatches every file of cli/commands by its name; `help <command>` is its --help', async () => {
    const dir = fileURLToPath(new URL('./commands/', import.meta.url));
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => f.slice(0, -'.ts'.length));
    expect(names).toEqual(expect.arrayContaining(['run', 'serve', 'api', 'worker', 'jobs', 'help', 'version']));
    // help and version are what `--help` and `--version` run.
    for (const name of names.filter((n) => n !== 'help' && n !== 'version')) {
      const direct = io();
      expect(await main([name, '--help'], direct.io), name).toBe(0);
      expect(direct.out(), name).toMatch(/^usage/);
      const viaHelp = io();
      expect(await main(['help', name], viaHelp.io), name).toBe(0);
      expect(viaHelp.out()).toBe(direct.out());
    }
  });
});
