import { createMemorySink, createMemorySource, createPump, type Sink, type Source, sleep } from '@ferry/core';

/**
 * Writes one dead letter per reason into `sink` the way a flow does: the pump
 * reads records that its source refuses (ids `1`, `2`… in order) and hands
 * them to `sink` as its dead-letter sink, one batch each, a few milliseconds
 * apart so that no two have the same `rejectedAt`. Returns the records' ids.
 */
export async function writeDeadLetters(sink: Sink, reasons: readonly string[]): Promise<string[]> {
  const source = createMemorySource(reasons.map((reason) => ({ reason })));
  const refusing: Source = {
    ...source,
    read: async (max, options) => {
      await sleep(3);
      const batch = await source.read(max, options);
      return {
        ...batch,
        records: [],
        rejected: batch.records.map((record) => ({
          id: record.id,
          reason: String(record.value.reason),
          raw: Buffer.from(`refused ${record.id}`),
        })),
      };
    },
  };
  const result = await createPump({
    source: refusing,
    sink: createMemorySink(),
    deadLetter: sink,
    batchSize: 1,
    flowName: 'dead-letters',
  }).run();
  if (result.deadLettered !== reasons.length) {
    throw new Error(`expected ${reasons.length} dead letters, the pump wrote ${result.deadLettered}`);
  }
  return reasons.map((_, i) => String(i + 1));
}
