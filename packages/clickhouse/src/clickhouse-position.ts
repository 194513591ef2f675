/**
 * The sink's position: where a MergeTree table stood before a write, as the
 * block numbers of its parts. Every INSERT makes parts named
 * `<partition>_<minBlock>_<maxBlock>_<level>[_<mutation>]` (before custom
 * partitioning: `<minDate>_<maxDate>_<minBlock>_…`); block numbers only grow
 * (table-wide on a plain MergeTree, per partition on a replicated one), and a
 * merge or mutation keeps the range of the parts it joins. So every row
 * inserted after the note is in a part whose max block is above the noted
 * one, and the server skips the other parts when the query filters on `_part`
 * alone (18.16 and current releases do; on 18.16, `_part` is the only virtual
 * column it prunes by, hence the partition read from the name, not `_partition_id`).
 */

/** One active partition as `system.parts` tells it. */
export interface PartitionRow {
  readonly partition_id: string;
  /** Its highest block number, as digits. */
  readonly block: string;
  /** Any active part's name: says how the table names parts. */
  readonly part: string;
  readonly engine: string;
}

/** What the sink notes. Text form: `parts:none`, `parts:new:12`, `parts:old:0=7,1=8`. */
export type PartPosition =
  /** No part at all (an empty table, not yet created, or not a MergeTree): any part may hold the batch. */
  | { readonly kind: 'none' }
  | {
      readonly kind: 'blocks';
      /** `new`: `<partition>_<min>_<max>_…`; `old`: `<minDate>_<maxDate>_<min>_<max>_…`. */
      readonly names: 'new' | 'old';
      /** Digits: parts above it, table-wide; or per partition id, a partition not listed being new. */
      readonly after: string | ReadonlyMap<string, string>;
    };

const digits = /^\d+$/;
/** Partition ids as the server makes them: a number, numbers joined by `-`, a hash in hex, `all`. */
const partitionId = /^[A-Za-z0-9-]+$/;

/** The position from `system.parts`' active partitions of the table. */
export function positionFrom(rows: readonly PartitionRow[]): PartPosition {
  const known = rows.filter((row) => digits.test(row.block));
  const first = known[0];
  if (first === undefined) return { kind: 'none' };
  const names = first.part.startsWith(`${first.partition_id}_`) ? 'new' : 'old';
  // A replicated table numbers blocks per partition, in its coordination service; a plain one, table-wide.
  if (/^(Replicated|Shared)/.test(first.engine)) {
    // A partition whose id cannot be written back is left out: all of it is read, which is only slower.
    const after = new Map(
      known.filter((row) => partitionId.test(row.partition_id)).map((r) => [r.partition_id, r.block]),
    );
    return { kind: 'blocks', names, after };
  }
  const max = known.reduce((top, row) => (BigInt(row.block) > BigInt(top) ? row.block : top), first.block);
  return { kind: 'blocks', names, after: max };
}

export function formatPosition(position: PartPosition): string {
  if (position.kind === 'none') return 'parts:none';
  const { names, after } = position;
  if (typeof after === 'string') return `parts:${names}:${after}`;
  return `parts:${names}:${[...after].map(([id, block]) => `${id}=${block}`).join(',')}`;
}

/** A noted position read back; undefined for text this sink did not write (the caller then reads the whole table). */
export function parsePosition(text: string): PartPosition | undefined {
  if (text === 'parts:none') return { kind: 'none' };
  const match = /^parts:(new|old):(.*)$/.exec(text);
  if (match === null) return undefined;
  const names = match[1] as 'new' | 'old';
  const rest = match[2]!;
  if (digits.test(rest)) return { kind: 'blocks', names, after: rest };
  const after = new Map<string, string>();
  if (rest === '') return { kind: 'blocks', names, after };
  for (const pair of rest.split(',')) {
    const [id, block, extra] = pair.split('=');
    if (id === undefined || block === undefined || extra !== undefined) return undefined;
    if (!partitionId.test(id) || !digits.test(block)) return undefined;
    after.set(id, block);
  }
  return { kind: 'blocks', names, after };
}

/**
 * The condition on `_part` that keeps the parts holding rows written after
 * the position, or undefined when every part may (read the whole table).
 * Only `_part` in it, so that the server applies it to the part list before reading.
 */
export function partFilter(position: PartPosition): string | undefined {
  if (position.kind === 'none') return undefined;
  const { names, after } = position;
  const maxBlock = `toInt64(splitByChar('_', _part)[${names === 'new' ? 3 : 4}])`;
  if (typeof after === 'string') return `${maxBlock} > ${after}`;
  if (after.size === 0) return undefined;
  const partition = names === 'new' ? `splitByChar('_', _part)[1]` : 'substring(_part, 1, 6)';
  const ids = [...after.keys()].map((id) => `'${id}'`).join(', ');
  const blocks = [...after.values()].join(', ');
  // A partition not noted was made after the note: -1 keeps all its parts (replicated blocks start at 0).
  return `${maxBlock} > transform(${partition}, [${ids}], CAST([${blocks}] AS Array(Int64)), toInt64(-1))`;
}
