/**
 * The fidelity matrix (issue 16): one torture data set, seeded at each source
 * in that system's own native forms with its own driver, moved through every
 * edge the registry permits with ferry's connectors and pump, and read back at
 * each target with the target's own driver — never through ferry.
 *
 * Each system's test end (`<package>/testing`) holds its row and its column:
 * the cases it seeds (a family of the data set, see `FidelityEnd` in
 * @ferry/core), and for every case that reaches it the exact value its driver
 * reads, or a dead letter with its reason (run-specific names shown as
 * <source> and <target>), from its README's type table. This file names no
 * system: a new one is in the matrix once its end has a `fidelity`.
 */

import { describe, expect, it } from 'vitest';
import { type Dead, move } from './support/fidelity.js';
import { endpointOptions, openSystems, type System, type SystemEdge } from './support/systems.js';

const systems = await openSystems('fidelity');

/** What a target holds for one source id: its view, its dead letter, or neither. */
function outcome(id: string, dead: Map<string, Dead>, views: ReadonlyMap<string, unknown>): unknown {
  const letter = dead.get(id);
  const view = views.get(id);
  if (letter !== undefined && view !== undefined) return { dead: `written AND dead-lettered: ${letter.dead}` };
  if (letter !== undefined) return letter;
  return view === undefined ? 'missing' : view;
}

const fidelityOf = (system: System) => system.end.fidelity!;
const where = (system: System, name: string) => fidelityOf(system).where?.(name) ?? name;

async function run(edge: SystemEdge, sourceKeys: Readonly<Record<string, unknown>> = {}): Promise<void> {
  const from = fidelityOf(edge.from);
  const to = fidelityOf(edge.to);
  const label = edge.name.toLowerCase();
  const seeded = await from.seed(`fidelity.${label}.in`);
  const sourceCases = new Map(from.cases.map((kase) => [kase.name, kase]));
  const reaching = [...seeded.cases.values()].flatMap((name) => sourceCases.get(name)?.reads ?? []);
  const target = edge.to.end.name(`fidelity.${label}.out`);
  await to.create(target, reaching);
  const sink = edge.to.definition.createSink(endpointOptions(edge.to, target, 'sink'));
  const dead = new Map<string, Dead>();
  for (const name of seeded.names) {
    const source = edge.from.definition.createSource({ ...endpointOptions(edge.from, name, 'source'), ...sourceKeys });
    const letters = await move(source, sink, {
      '<source>': where(edge.from, name),
      '<target>': where(edge.to, target),
    });
    for (const [id, letter] of letters) dead.set(id, letter);
  }
  const views = await to.read(target);
  const actual: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const [id, name] of seeded.cases) {
    const kase = sourceCases.get(name)!;
    const held = outcome(id, dead, views);
    if (edge.from === edge.to && kase.same !== undefined) {
      expected[name] = kase.same;
      actual[name] = held;
    } else if (kase.refused !== undefined) {
      expected[name] = { dead: kase.refused };
      actual[name] = held;
    } else {
      const want = to.expect(kase.reads!);
      expected[name] = want ?? `${edge.to.letter} has no row for ${kase.reads}`;
      actual[name] =
        to.shown === undefined || typeof held === 'string' || 'dead' in (held as object)
          ? held
          : to.shown(held, kase.reads!);
    }
  }
  expect(actual).toEqual(expected);
}

for (const system of systems.list.filter((s) => s.end.fidelity !== undefined)) {
  describe(`fidelity matrix: from ${system.definition.title}`, () => {
    for (const edge of systems.edges.filter((e) => e.from === system && e.to.end.fidelity !== undefined)) {
      const arrow = `${edge.from.letter}→${edge.to.letter}`;
      it(arrow, () => run(edge));
      if (edge.to !== edge.from) continue;
      for (const variant of fidelityOf(system).variants ?? []) {
        it(`${arrow} ${variant.label}`, () => run(edge, variant.source));
      }
    }
  });
}
