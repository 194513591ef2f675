import { useState } from 'preact/hooks';
import type { FlowInfo } from '../../src/dashboard/dashboard-snapshot.js';
import { type ApiAnswer, startFlow } from './api.js';

interface FlowsProps {
  readonly flows: readonly FlowInfo[];
  readonly onStarted: (flow: string, answer: ApiAnswer) => void;
}

/** The config's flows, each with a button that queues it as a job through POST /flows. */
export function Flows({ flows, onStarted }: FlowsProps) {
  const [busy, setBusy] = useState<string>();
  if (flows.length === 0) return <p class="empty">The config names no flows.</p>;
  const start = async (name: string) => {
    setBusy(name);
    try {
      onStarted(name, await startFlow(name));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <table class="list">
      <thead>
        <tr>
          <th>flow</th>
          <th>edge</th>
          <th>source → sink</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {flows.map((f) => (
          <tr key={f.name} data-flow={f.name}>
            <td class="name">
              {f.name}
              {f.follow && (
                <span class="tag" title="stopWhenEmpty: false, runs until cancelled">
                  follow
                </span>
              )}
            </td>
            <td>{f.edge ?? '?'}</td>
            <td class="endpoints">
              {f.source} → {f.sink}
              {f.deadLetter !== undefined && <div class="muted">dead letters → {f.deadLetter}</div>}
            </td>
            <td class="actions">
              <button
                type="button"
                data-testid={`start-${f.name}`}
                disabled={busy === f.name}
                onClick={() => start(f.name)}
              >
                Start
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
