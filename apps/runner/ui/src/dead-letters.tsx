import type { DeadLetterInfo } from '../../src/dashboard/dashboard-snapshot.js';
import { clock, count } from './format.js';

/** Each flow's dead-letter target: how many records it holds, and the newest reasons where they can be read. */
export function DeadLetters({ deadLetters }: { deadLetters: readonly DeadLetterInfo[] }) {
  if (deadLetters.length === 0) return <p class="empty">No flow has a dead-letter target.</p>;
  return (
    <div class="dead-letters">
      {deadLetters.map((d) => (
        <div class="dead" key={`${d.flow}:${d.endpoint}`} data-flow={d.flow}>
          <div class="dead-head">
            <span class="name">{d.flow}</span>
            <span class="muted">→ {d.endpoint}</span>
            <span class={`dead-count ${d.count !== undefined && d.count > 0 ? 'warn' : ''}`} data-testid="dead-count">
              {d.count === undefined ? '–' : count(d.count)}
            </span>
          </div>
          {d.error !== undefined && <div class="error small">{d.error}</div>}
          {d.latest !== undefined && d.latest.length > 0 && (
            <ul class="reasons">
              {d.latest.map((l, i) => (
                <li key={l.id ?? i}>
                  <span class="muted mono">{clock(l.at)}</span> {l.reason}
                  {l.sourceId !== undefined && <span class="muted mono"> ({l.sourceId})</span>}
                </li>
              ))}
            </ul>
          )}
          {d.latest === undefined && d.error === undefined && (
            <div class="muted small">reasons are read where the target can be peeked at (a stream, a collection)</div>
          )}
        </div>
      ))}
    </div>
  );
}
