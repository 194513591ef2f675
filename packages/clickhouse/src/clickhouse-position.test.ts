import { describe, expect, it } from 'vitest';
import { formatPosition, parsePosition, partFilter, positionFrom } from './clickhouse-position.js';

const row = (partition_id: string, block: string, part: string, engine = 'MergeTree') => ({
  partition_id,
  block,
  part,
  engine,
});

describe('clickhouse position', () => {
  it('a plain MergeTree numbers blocks table-wide: the highest of all partitions', () => {
    const position = positionFrom([row('0', '9', '0_1_9_2'), row('1', '10', '1_10_10_0'), row('2', '7', '2_7_7_0_12')]);
    expect(formatPosition(position)).toBe('parts:new:10');
    expect(partFilter(position)).toBe("toInt64(splitByChar('_', _part)[3]) > 10");
  });

  it('a replicated table numbers blocks per partition: each is noted, one not noted is read whole', () => {
    const position = positionFrom([
      row('202401', '4', '202401_0_4_1', 'ReplicatedMergeTree'),
      row('202402', '0', '202402_0_0_0', 'ReplicatedReplacingMergeTree'),
    ]);
    expect(formatPosition(position)).toBe('parts:new:202401=4,202402=0');
    expect(partFilter(position)).toBe(
      "toInt64(splitByChar('_', _part)[3]) > transform(splitByChar('_', _part)[1], ['202401', '202402'], CAST([4, 0] AS Array(Int64)), toInt64(-1))",
    );
  });

  it('parts named before custom partitioning hold two dates first', () => {
    const position = positionFrom([row('202401', '3', '20240105_20240106_1_3_1')]);
    expect(formatPosition(position)).toBe('parts:old:3');
    expect(partFilter(position)).toBe("toInt64(splitByChar('_', _part)[4]) > 3");
    const replicated = positionFrom([row('202401', '3', '20240105_20240106_1_3_1', 'ReplicatedMergeTree')]);
    expect(partFilter(replicated)).toContain('transform(substring(_part, 1, 6), [');
  });

  it('no part (an empty or missing table, another engine): the whole table is read', () => {
    expect(formatPosition(positionFrom([]))).toBe('parts:none');
    expect(partFilter(positionFrom([]))).toBeUndefined();
  });

  it('reads back what it writes, and nothing else: text that could carry SQL gives no position', () => {
    for (const text of ['parts:none', 'parts:new:12', 'parts:old:0=7,1-2=8,a3f=0', 'parts:new:']) {
      expect(formatPosition(parsePosition(text)!)).toBe(text);
    }
    for (const text of [
      '',
      '1700000000000-0',
      'parts:new:12 OR 1',
      "parts:new:0'=7",
      'parts:new:0=7=8',
      'parts:mid:12',
      'parts:new:-1',
    ]) {
      expect(parsePosition(text)).toBeUndefined();
    }
  });
});
