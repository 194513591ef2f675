import { useState } from 'preact/hooks';
import type { JobInfo } from '../../src/dashboard/dashboard-snapshot.js';
import { type ApiAnswer, cancelJob } from './api.js';
import { LineChart } from './chart.js';
import { clock, count, duration, rate, stopReason } from './format.js';

interface JobsProps {
  readonly jobs: readonly JobInfo[];
  readonly onCancelled: (job: JobInfo, answer: ApiAnswer) => void;
}

function progressCell(job: JobInfo) {
  if (job.backlog === undefined || job.state !== 'active') return null;
  const total = job.records + job.backlog;
  const share = total > 0 ? Math.min(1, job.records / total) : 1;
  const eta = job.rate > 0 && job.backlog > 0 ? ` · ETA ${duration(job.backlog / job.rate)}` : '';
  return (
    <div class="progress" title={`${count(job.backlog)} records waiting at the source`}>
      <div class="progress-bar" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      <span class="progress-text">
        {count(job.backlog)} left{eta}
      </span>
    </div>
  );
}

function outcome(job: JobInfo): string {
  if (job.state === 'failed') return job.error ?? 'failed';
  if (job.stopReason !== undefined) return stopReason(job.stopReason);
  if (job.waiting === 'empty') return 'waiting for records';
  if (job.waiting === 'full') return 'waiting: target full';
  return job.lastError ?? '';
}

/** The newest jobs: state, records moved, a live rate chart, why each stopped; waiting and running ones can be cancelled. */
export function Jobs({ jobs, onCancelled }: JobsProps) {
  const [busy, setBusy] = useState<string>();
  if (jobs.length === 0) return <p class="empty">No jobs yet: start a flow.</p>;
  const cancel = async (job: JobInfo) => {
    setBusy(job.id);
    try {
      onCancelled(job, await cancelJob(job.id));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <table class="list jobs">
      <thead>
        <tr>
          <th>job</th>
          <th>edge</th>
          <th>state</th>
          <th class="num">records</th>
          <th>rate</th>
          <th>progress</th>
          <th>stopped / note</th>
          <th>started</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {jobs.map((job) => {
          const live = job.rates.at(-1);
          return (
            <tr key={job.id} data-job-id={job.id} data-state={job.state} data-flow={job.name}>
              <td class="name" title={job.id}>
                {job.name}
                <div class="muted mono">{job.id.slice(0, 8)}</div>
              </td>
              <td>{job.edge ?? '-'}</td>
              <td>
                <span class={`state state-${job.state}`} data-testid="state">
                  {job.state}
                </span>
              </td>
              <td class="num" data-testid="records" data-value={job.records}>
                {count(job.records)}
                {job.deadLettered > 0 && <div class="warn">{count(job.deadLettered)} dead-lettered</div>}
              </td>
              <td class="rate">
                <LineChart values={job.rates} label={`records per second of job ${job.name}`} width={120} height={32} />
                <span class="muted">{rate(job.state === 'active' && live !== undefined ? live : job.rate)}</span>
              </td>
              <td>{progressCell(job)}</td>
              <td class={job.state === 'failed' ? 'error' : ''} data-testid="outcome">
                {outcome(job)}
              </td>
              <td class="muted">{clock(job.startedAt ?? job.createdAt)}</td>
              <td class="actions">
                {(job.state === 'active' || job.state === 'waiting') && (
                  <button
                    type="button"
                    class="danger"
                    data-testid="cancel"
                    disabled={busy === job.id}
                    onClick={() => cancel(job)}
                  >
                    Cancel
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
