import { useState } from 'preact/hooks';
import { type ApiAnswer, logOut } from './api.js';
import { DeadLetters } from './dead-letters.js';
import { Depths } from './depths.js';
import { EdgeMatrix } from './edge-matrix.js';
import { Flows } from './flows.js';
import { clock } from './format.js';
import { Jobs } from './jobs.js';
import { type LiveStatus, useSnapshot } from './live.js';
import { Schedules } from './schedules.js';

interface Notice {
  readonly ok: boolean;
  readonly text: string;
  readonly jobId?: string;
}

const statusWords: Record<LiveStatus, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  'signed-out': 'signed out',
};

export function App() {
  const { snapshot, status } = useSnapshot();
  const [notice, setNotice] = useState<Notice>();

  const report = (what: string, answer: ApiAnswer, jobId?: string) =>
    setNotice(
      answer.ok
        ? { ok: true, text: what, ...(jobId === undefined ? {} : { jobId }) }
        : { ok: false, text: `${what}: ${answer.error ?? `HTTP ${answer.status}`}` },
    );

  return (
    <>
      <header>
        <h1>
          ferry<span class="muted"> dashboard</span>
        </h1>
        <span class={`live live-${status}`} data-testid="live" role="status">
          {statusWords[status]}
        </span>
        <span class="muted">{snapshot === undefined ? '' : `updated ${clock(snapshot.at)}`}</span>
        <span class="spacer" />
        {snapshot?.version !== undefined && <span class="muted">v{snapshot.version}</span>}
        <button
          type="button"
          class="link"
          onClick={async () => {
            await logOut();
            location.reload();
          }}
        >
          Log out
        </button>
      </header>
      {status === 'signed-out' && (
        <div class="notice notice-error" role="alert">
          The session ended (the token changed?): <a href="/ui/">sign in again</a>.
        </div>
      )}
      {snapshot?.controlError !== undefined && (
        <div class="notice notice-error" role="alert">
          {snapshot.controlError}
        </div>
      )}
      {notice !== undefined && (
        <div
          class={`notice ${notice.ok ? 'notice-ok' : 'notice-error'}`}
          data-testid="notice"
          data-job-id={notice.jobId}
          role="status"
        >
          {notice.text}
          <button type="button" class="link" onClick={() => setNotice(undefined)} aria-label="dismiss">
            ×
          </button>
        </div>
      )}
      {snapshot === undefined ? (
        <p class="empty">Waiting for the server's first picture…</p>
      ) : (
        <main>
          <section class="card">
            <h2>Edges</h2>
            <EdgeMatrix systems={snapshot.systems} edges={snapshot.edges} />
          </section>
          <section class="card">
            <h2>Flows</h2>
            <Flows
              flows={snapshot.flows}
              onStarted={(flow, answer) => {
                const id = (answer.data as { id?: string } | undefined)?.id;
                report(answer.ok ? `queued ${flow} as job ${id ?? '?'}` : `start ${flow}`, answer, id);
              }}
            />
          </section>
          <section class="card wide">
            <h2>Jobs</h2>
            <Jobs
              jobs={snapshot.jobs}
              onCancelled={(job, answer) => {
                const state = (answer.data as { state?: string } | undefined)?.state;
                report(
                  answer.ok
                    ? `job ${job.name} ${job.id.slice(0, 8)}: ${state === 'active' ? 'cancelling' : (state ?? 'cancelled')}`
                    : `cancel ${job.name}`,
                  answer,
                  job.id,
                );
              }}
            />
          </section>
          <section class="card wide">
            <h2>Depths</h2>
            <Depths systems={snapshot.systems} endpoints={snapshot.endpoints} />
          </section>
          <section class="card">
            <h2>Dead letters</h2>
            <DeadLetters deadLetters={snapshot.deadLetters} />
          </section>
          <section class="card">
            <h2>Schedules</h2>
            <Schedules flows={snapshot.flows} schedules={snapshot.schedules} onAnswer={(what, a) => report(what, a)} />
          </section>
        </main>
      )}
    </>
  );
}
