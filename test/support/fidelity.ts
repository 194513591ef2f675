import { createMemorySink, createPump, type FerryRecord, type Sink, type Source } from '@ferry/core';

/**
 * What the fidelity matrix and the round trips share: one flow run in process
 * to its end, and its dead letters. How each system is seeded and read back
 * with its own driver is in its package's test end (`<package>/testing`).
 */

/** A record the pump dead-lettered, with its reason (run-specific names replaced by `<source>`/`<target>`). */
export interface Dead {
  readonly dead: string;
}

/** Runs one flow in process to its end: the records each source id led to at the dead-letter sink, by source id. */
export async function move(
  source: Source,
  sink: Sink,
  names: Readonly<Record<string, string>>,
): Promise<Map<string, Dead>> {
  const deadLetter = createMemorySink();
  await createPump({ source, sink, deadLetter, batchSize: 100, flowName: 'fidelity' }).run();
  return deadLetters(deadLetter.records, names);
}

/** Dead letters by source id, their reasons with run-specific names replaced by placeholders. */
function deadLetters(records: readonly FerryRecord[], names: Readonly<Record<string, string>>): Map<string, Dead> {
  const out = new Map<string, Dead>();
  for (const record of records) {
    let reason = String(record.value.reason);
    for (const [placeholder, name] of Object.entries(names)) reason = reason.replaceAll(name, placeholder);
    out.set(String(record.value.sourceId), { dead: reason });
  }
  return out;
}
