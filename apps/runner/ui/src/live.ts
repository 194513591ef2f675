import { useEffect, useState } from 'preact/hooks';
import type { DashboardSnapshot } from '../../src/dashboard/dashboard-snapshot.js';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'signed-out';

/**
 * The server's pictures, from its event stream: the browser reconnects on its
 * own after a drop; a stream refused for the token means the session is gone.
 */
export function useSnapshot(): { snapshot: DashboardSnapshot | undefined; status: LiveStatus } {
  const [snapshot, setSnapshot] = useState<DashboardSnapshot>();
  const [status, setStatus] = useState<LiveStatus>('connecting');

  useEffect(() => {
    const events = new EventSource('/ui/events');
    events.addEventListener('snapshot', (event) => {
      setSnapshot(JSON.parse((event as MessageEvent<string>).data) as DashboardSnapshot);
      setStatus('live');
    });
    events.onerror = () => {
      if (events.readyState !== EventSource.CLOSED) {
        setStatus('reconnecting');
        return;
      }
      // Closed for good: a refused token, or the server gone. Ask which.
      fetch('/ui/snapshot', { headers: { accept: 'application/json' } }).then(
        (res) => setStatus(res.status === 401 ? 'signed-out' : 'reconnecting'),
        () => setStatus('reconnecting'),
      );
    };
    return () => events.close();
  }, []);

  return { snapshot, status };
}
