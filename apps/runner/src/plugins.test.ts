import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { main } from './cli/main.js';
import { loadConfig } from './config-file.js';
import { createRegistry, installedConnectors } from './connectors.js';
import { loadPlugins, pluginNames } from './plugins.js';

/** A definition of kind `kind` and letter `letter`, as a module's text: no import, as a plug-in from anywhere. */
const definition = (kind: string, letter: string) => `export default {
  kind: '${kind}', letter: '${letter}', title: 'Plug-in ${letter}', schemes: ['${kind}:'], holds: 'stream',
  options: { source: {}, sink: {} }, dataPlaneKeys: { source: ['box'], sink: ['box'] },
  createSource: (o) => ({ name: '${kind} source', options: o }),
  createSink: (o) => ({ name: '${kind} sink', options: o }),
  describeEndpoint: (role, o) => ({ what: 'box', name: String(o.box), singleReader: false }),
};
`;

const dir = mkdtempSync(join(tmpdir(), 'ferry-plugins-'));
const write = (path: string, text: string) => {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, text);
  return full;
};
write('plugins/x.mjs', definition('xbox', 'X'));
write('plugins/not.mjs', 'export const kind = "named, not default";\n');
write('plugins/taken.mjs', definition('other', 'S'));
write('plugins/throws.mjs', 'throw new Error("the plug-in broke at load");\n');
write(
  'node_modules/ferry-ybox/package.json',
  JSON.stringify({ name: 'ferry-ybox', exports: { '.': { import: './y.mjs' } } }),
);
write('node_modules/ferry-ybox/y.mjs', definition('ybox', 'Y'));
write('node_modules/@acme/zbox/package.json', JSON.stringify({ name: '@acme/zbox', main: 'z.mjs' }));
write('node_modules/@acme/zbox/z.mjs', definition('zbox', 'Z'));
const configPath = join(dir, 'ferry.yaml');

const registry = createRegistry();
const load = (plugins: unknown) => loadPlugins({ plugins }, configPath, registry);

describe('plug-ins', () => {
  it('reads the names a config gives, leaving anything else to the schema', () => {
    expect(pluginNames({ plugins: ['a', 1, '', 'b'] })).toEqual(['a', 'b']);
    expect(pluginNames({ plugins: 'a' })).toEqual([]);
    expect(pluginNames(null)).toEqual([]);
  });

  it("loads a path relative to the config's folder, an absolute one, and packages found from that folder", async () => {
    const extended = await load(['./plugins/x.mjs', 'ferry-ybox', '@acme/zbox']);
    expect(extended.kinds()).toEqual([...registry.kinds(), 'xbox', 'ybox', 'zbox']);
    expect(extended.parseEdge('X2Y').name).toBe('X2Y');
    expect(extended.kindOfUrl('zbox://h')).toBe('zbox');
    expect((await load([join(dir, 'plugins', 'x.mjs')])).has('xbox')).toBe(true);
    // The registry it extends is left as it was.
    expect(registry.has('xbox')).toBe(false);
    expect(await load(undefined)).toBe(registry);
  });

  it('names the plug-in and says why when it cannot be loaded or is not a definition', async () => {
    await expect(load(['./plugins/missing.mjs'])).rejects.toThrow(ConfigError);
    await expect(load(['./plugins/missing.mjs'])).rejects.toThrow(
      /^\[ferry\] plug-in "\.\/plugins\/missing\.mjs" \(plugins of .*ferry\.yaml\): cannot be loaded: /,
    );
    await expect(load(['./plugins/throws.mjs'])).rejects.toThrow(/cannot be loaded: the plug-in broke at load/);
    await expect(load(['ferry-not-installed'])).rejects.toThrow(/plug-in "ferry-not-installed" .*cannot be loaded/);
    await expect(load(['./plugins/not.mjs'])).rejects.toThrow(
      /plug-in "\.\/plugins\/not\.mjs" .*is not a connector definition: .*it has no default export/,
    );
    await expect(load(['./plugins/taken.mjs'])).rejects.toThrow(
      /plug-in "\.\/plugins\/taken\.mjs" .*: connector "other": letter S is already redis-stream's/,
    );
  });

  it("checks a config's kinds against the registry its plug-ins extend", async () => {
    const file = write(
      'box.yaml',
      [
        'plugins: [./plugins/x.mjs]',
        'connections:',
        '  box: { kind: xbox, url: "xbox://h" }',
        'flows:',
        '  x2x: { source: { connection: box, box: a }, sink: { connection: box, box: b } }',
      ].join('\n'),
    );
    const { config, registry: extended } = await loadConfig(file, {}, registry);
    expect(config.connections.box?.kind).toBe('xbox');
    expect(extended.has('xbox')).toBe(true);
    const without = write('no-plugin.yaml', 'connections:\n  box: { kind: xbox, url: "xbox://h" }\n');
    await expect(loadConfig(without, {}, registry)).rejects.toThrow(/connections\.box\.kind: .*\(got "xbox"\)/);
  });

  it('shows the edges and the help of the registry it is given', async () => {
    const extended = await load(['./plugins/x.mjs']);
    const out: string[] = [];
    const stream = { write: (s: string) => out.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    const io = { stdout: stream, stderr: stream, env: {} };
    expect(await main(['run', '--help'], io, extended)).toBe(0);
    expect(out.join('')).toMatch(/xbox:\/\/ → xbox/);
    expect(out.join('')).toContain(
      `override the inferred kind (${installedConnectors.map((c) => c.kind).join(', ')}, xbox)`,
    );
    out.length = 0;
    expect(await main(['edges'], io, extended)).toBe(0);
    expect(out.join('')).toMatch(/^X {8}X2S \* {4}X2Q \* {4}X2M \* {4}X2C \* .*X2X \*$/m);
    expect(out.join('')).toMatch(/^ {2}X {2}Plug-in X \(kind xbox, a stream\)$/m);
  });
});
