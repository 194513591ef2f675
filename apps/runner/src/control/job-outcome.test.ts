import { ConfigError, ConnectionError, FlowFailedError, type PumpResult, parseFlow } from '@ferry/core';
import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { FlowJobData } from '../jobs/job-spec.js';
import { jobOutcome, type RunEnd, type StopCause } from './job-outcome.js';

const spec = parseFlow({ source: { stream: 'in', mode: 'group' }, sink: { stream: 'out' }, maxBatches: 10 }, 'f');
const data: FlowJobData = { name: 'f', flow: spec, parallelism: 2, origin: 'flows' };
const end = (cause?: StopCause): RunEnd => ({
  id: '1',
  data,
  spec,
  done: { records: 5, batches: 1, bytes: 50, deadLettered: 0 },
  edge: 'S2S',
  worker: 'host:1',
  cause,
  firstSkipped: undefined,
  lockRetryMs: 500,
  log: () => {},
});
const pump = (records: number, batches: number, stopReason: PumpResult['stopReason']): PumpResult => ({
  records,
  batches,
  bytes: records * 10,
  deadLettered: 0,
  elapsedMs: 1000,
  rate: records,
  stopReason,
});
const fulfilled = (r: PumpResult): PromiseSettledResult<PumpResult> => ({ status: 'fulfilled', value: r });

describe('jobOutcome', () => {
  it('sums the pumps and the earlier runs into the result', () => {
    const outcome = jobOutcome(end(), [fulfilled(pump(10, 2, 'empty')), fulfilled(pump(20, 3, 'maxBatches'))]);
    expect(outcome).toMatchObject({
      kind: 'result',
      result: { records: 35, batches: 6, bytes: 350, stopReason: 'maxBatches', instances: 2, rate: 30, edge: 'S2S' },
    });
  });

  it('retries a failure whose cause is transient, and fails any other for good', () => {
    const progress = pump(1, 1, 'empty');
    const transient = new FlowFailedError('down', progress, { cause: new ConnectionError('[x] refused') });
    const retried = jobOutcome(end(), [{ status: 'rejected', reason: transient }]);
    expect(retried.kind === 'fail' && !(retried.error instanceof UnrecoverableError)).toBe(true);
    const bad = jobOutcome(end(), [{ status: 'rejected', reason: new ConfigError('[x] bad') }]);
    expect(bad.kind === 'fail' && bad.error instanceof UnrecoverableError).toBe(true);
  });

  it('puts a job stopped by a shutdown back with what it moved and the batches it has left', () => {
    const outcome = jobOutcome(end('shutdown'), [fulfilled(pump(10, 2, 'aborted')), fulfilled(pump(10, 2, 'empty'))]);
    expect(outcome).toMatchObject({ kind: 'putBack', delayMs: 0, data: { done: { records: 25, batches: 5 } } });
    expect(outcome.kind === 'putBack' && outcome.data.flow?.maxBatches).toBe(6);
  });

  it('saves what moved before giving up a job whose lock was lost', () => {
    const outcome = jobOutcome(end('jobLock'), [fulfilled(pump(10, 2, 'aborted'))]);
    expect(outcome).toMatchObject({ kind: 'fail', save: { done: { records: 15 } } });
    expect(outcome.kind === 'fail' && outcome.error.message).toMatch(/lock was lost/);
  });

  it('says cancelled for a cancel, and maxBatches for a stop with no batch left', () => {
    expect(jobOutcome(end('cancel'), [fulfilled(pump(1, 1, 'aborted'))])).toMatchObject({
      result: { stopReason: 'aborted', cancelled: true },
    });
    expect(jobOutcome(end('lock'), [fulfilled(pump(1, 10, 'aborted'))])).toMatchObject({
      kind: 'result',
      result: { stopReason: 'maxBatches' },
    });
  });
});
