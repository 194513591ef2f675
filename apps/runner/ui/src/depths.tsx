import type { EndpointDepth, SystemInfo } from '../../src/dashboard/dashboard-snapshot.js';
import { LineChart } from './chart.js';
import { count } from './format.js';

const roleWords = { source: 'source of', sink: 'sink of', deadLetter: 'dead letters of' } as const;

/** Every stream, queue, collection and table the config names: its count now and over the last minutes. */
export function Depths({
  systems,
  endpoints,
}: {
  systems: readonly SystemInfo[];
  endpoints: readonly EndpointDepth[];
}) {
  const titles = new Map(systems.map((s) => [s.letter, s.title]));
  if (endpoints.length === 0) return <p class="empty">The config names no streams, queues, collections or tables.</p>;
  return (
    <div class="depths">
      {endpoints.map((e) => (
        <div class="depth" key={e.id} data-endpoint={e.id}>
          <div class="depth-head">
            <span class={`letter letter-${e.letter}`} title={titles.get(e.letter)}>
              {e.letter}
            </span>
            <span class="depth-name" title={`${e.what} ${e.name} on connection ${e.connection}`}>
              {e.connection}/{e.name}
            </span>
            <span class="depth-value" data-testid="depth">
              {e.depth === undefined ? '–' : count(e.depth)}
            </span>
          </div>
          <LineChart
            values={e.history.map(([, n]) => n)}
            label={`${e.what} ${e.name}: count over time`}
            width={260}
            height={44}
            tone="depth"
          />
          <div class="muted small">
            {e.what} · {e.roles.map((r) => `${roleWords[r.role]} ${r.flow}`).join(', ')}
          </div>
          {e.what === 'exchange' && <div class="muted small">an exchange holds no messages</div>}
          {e.error !== undefined && (
            <div class="error small" role="status">
              {e.error}
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
