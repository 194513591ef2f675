import { useState } from 'preact/hooks';
import type { FlowInfo, ScheduleInfo } from '../../src/dashboard/dashboard-snapshot.js';
import { type ApiAnswer, removeSchedule, scheduleFlow } from './api.js';
import { clock } from './format.js';

interface SchedulesProps {
  readonly flows: readonly FlowInfo[];
  readonly schedules: readonly ScheduleInfo[];
  readonly onAnswer: (what: string, answer: ApiAnswer) => void;
}

/** Repeatable runs of a flow (POST /schedules, every N seconds), and the ones that exist, with a way to remove each. */
export function Schedules({ flows, schedules, onAnswer }: SchedulesProps) {
  const [flow, setFlow] = useState(flows[0]?.name ?? '');
  const [every, setEvery] = useState(60);
  const [id, setId] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    const name = id.trim() === '' ? `${flow}-every-${every}s` : id.trim();
    onAnswer(`schedule ${name}`, await scheduleFlow(name, flow, every));
  };
  return (
    <div>
      {flows.length > 0 && (
        <form class="schedule-form" onSubmit={submit}>
          <label>
            flow
            <select value={flow} onChange={(e) => setFlow((e.target as HTMLSelectElement).value)}>
              {flows.map((f) => (
                <option key={f.name} value={f.name}>
                  {f.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            every (s)
            <input
              type="number"
              min="1"
              value={every}
              onInput={(e) => setEvery(Number((e.target as HTMLInputElement).value))}
            />
          </label>
          <label>
            id
            <input
              type="text"
              placeholder={`${flow}-every-${every}s`}
              value={id}
              onInput={(e) => setId((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" data-testid="schedule">
            Schedule
          </button>
        </form>
      )}
      {schedules.length === 0 ? (
        <p class="empty">No schedules.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>schedule</th>
              <th>flow</th>
              <th>when</th>
              <th>next</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {schedules.map((s) => (
              <tr key={s.id} data-schedule={s.id}>
                <td class="name">{s.id}</td>
                <td>{s.name}</td>
                <td>{s.cron ?? (s.everySeconds === undefined ? '-' : `every ${s.everySeconds} s`)}</td>
                <td class="muted">{clock(s.next)}</td>
                <td class="actions">
                  <button
                    type="button"
                    class="danger"
                    onClick={async () => onAnswer(`remove ${s.id}`, await removeSchedule(s.id))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
