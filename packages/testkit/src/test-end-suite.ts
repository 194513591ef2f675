import type { ConnectorDefinition, EndpointRole, FerryRecord, RecordValue, Source, TestEnd } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Small records like the end-to-end suites': `n` orders them. */
const values: RecordValue[] = [0, 1, 2].map((i) => ({ n: BigInt(i), name: `msg-${i}`, tags: '["e2e"]' }));

/** Reads everything a source holds now, acking each batch: the records, and the ids of those it refused. */
async function drain(source: Source): Promise<{ records: FerryRecord[]; rejected: string[] }> {
  const records: FerryRecord[] = [];
  const rejected: string[] = [];
  await source.open();
  try {
    for (;;) {
      const batch = await source.read(100, { waitMs: 0 });
      if (batch.records.length === 0 && (batch.rejected ?? []).length === 0) return { records, rejected };
      records.push(...batch.records);
      rejected.push(...(batch.rejected ?? []).map((r) => r.id));
      await source.ack(batch);
    }
  } finally {
    await source.close();
  }
}

/**
 * The contract of a connector's test end (`<package>/testing`), run by its
 * package against the real server: what it seeds is what the connector's
 * own source reads, with the ids it said; what it reads back is what the
 * connector's own sink wrote; its fidelity cases are the ones it seeds.
 */
export function testTestEnd(definition: ConnectorDefinition): void {
  describe(`${definition.kind} test end`, () => {
    let end: TestEnd;
    beforeAll(async () => {
      if (definition.testing === undefined) throw new Error(`${definition.kind} has no test end`);
      end = await (await definition.testing())({ scope: `end_${process.pid}` });
    }, 60_000);
    afterAll(() => end?.close(), 60_000);
    const options = (name: string, role: EndpointRole) => ({ ...end.connection(), ...end.endpoint(name, role) });

    it('names a connection of its kind, and endpoints a source and a sink of it take', () => {
      expect(end.connection()).toMatchObject({ kind: definition.kind });
      const name = end.name('valid');
      expect(() => definition.createSource(options(name, 'source'))).not.toThrow();
      expect(() => definition.createSink(options(name, 'sink'))).not.toThrow();
    });

    it("seeds values that the connector's source reads, with the ids seed gave, and then has none left", async () => {
      const name = end.name('seeded');
      const ids = await end.seed(name, values);
      const { records } = await drain(definition.createSource(options(name, 'source')));
      expect(records.map((r) => r.id)).toEqual(ids);
      for (const [i, record] of records.entries()) expect(record.value).toMatchObject(values[i]!);
      const left = await end.left(name);
      if (left !== undefined) expect(left).toBe(0);
    });

    it("counts and reads back what the connector's sink wrote: each record's id and its keys as text", async () => {
      const name = end.name('written');
      await end.create(name, values[0]!);
      const sink = definition.createSink(options(name, 'sink'));
      await sink.open();
      try {
        await sink.write(values.map((value, i) => ({ id: `r-${i}`, value, readAt: Date.now(), bytes: 0 })));
      } finally {
        await sink.close();
      }
      expect(await end.count(name)).toBe(3);
      const held = await end.readBack(name);
      expect(held.map((record) => record.id)).toEqual(['r-0', 'r-1', 'r-2']);
      expect(held[1]?.value).toMatchObject({ n: '1', name: 'msg-1', tags: '["e2e"]' });
      await end.drop(name);
    });

    it('fidelity: seeds the cases it names, each read by the source, each with what its own system holds after it', async () => {
      const fidelity = end.fidelity;
      if (fidelity === undefined) return;
      const seeded = await fidelity.seed('fidelity');
      expect([...new Set(seeded.cases.values())].sort()).toEqual(fidelity.cases.map((c) => c.name).sort());
      for (const kase of fidelity.cases) {
        expect(kase.reads === undefined, `${kase.name}: reads or refused`).toBe(kase.refused !== undefined);
        const own = kase.same ?? kase.refused ?? fidelity.expect(kase.reads!);
        expect(own, `${kase.name}: what a same-system edge leaves`).toBeDefined();
      }
      const read: string[] = [];
      for (const name of seeded.names) {
        const { records, rejected } = await drain(definition.createSource(options(name, 'source')));
        read.push(...records.map((r) => r.id), ...rejected);
      }
      expect(read.sort()).toEqual([...seeded.cases.keys()].sort());
    });

    it('poison: when it has a counting source, its endpoint is one the connector takes', () => {
      if (end.poison === undefined) return;
      const name = end.name('poison');
      const source = { ...end.connection(), ...end.poison.endpoint(name, 3) };
      expect(() => definition.createSource(source)).not.toThrow();
    });
  });
}
