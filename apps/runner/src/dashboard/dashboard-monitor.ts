import type { DashboardSnapshot } from './dashboard-snapshot.js';
import { createDashboardView, type DashboardViewOptions } from './dashboard-view.js';

export interface DashboardMonitorOptions
  extends Omit<DashboardViewOptions, 'depthIntervalMs' | 'historyLength' | 'jobLimit'> {
  /** How often jobs are looked at and a picture is sent (default 1 s). */
  readonly intervalMs?: number;
  /** How often the depths and dead letters are counted (default 2 s). */
  readonly depthIntervalMs?: number;
  /** Samples kept per chart (default 150: five minutes of depths at 2 s). */
  readonly historyLength?: number;
  /** The newest jobs shown (default 30). */
  readonly jobLimit?: number;
}

export type SnapshotListener = (snapshot: DashboardSnapshot, json: string) => void;

/**
 * What the dashboard shows, gathered by the API process while at least one
 * page listens: the jobs every second (with their rate, sampled), the depths
 * of what the config names every few seconds (kept as a short history), the
 * dead letters. Nothing is polled while nobody watches.
 */
export interface DashboardMonitor {
  /** Called with each new picture; the latest one at once when there is one. Returns the unsubscribe. */
  subscribe(listener: SnapshotListener): () => void;
  /** A picture taken now. */
  snapshot(): Promise<DashboardSnapshot>;
  close(): Promise<void>;
}

export function createDashboardMonitor(options: DashboardMonitorOptions): DashboardMonitor {
  const intervalMs = options.intervalMs ?? 1000;
  const view = createDashboardView({
    ...options,
    depthIntervalMs: options.depthIntervalMs ?? 2000,
    historyLength: options.historyLength ?? 150,
    jobLimit: options.jobLimit ?? 30,
  });
  const listeners = new Set<SnapshotListener>();
  let last: { snapshot: DashboardSnapshot; json: string; body: string; sentAt: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let closed = false;

  const tick = async () => {
    const now = Date.now();
    const snapshot = await view.look(now);
    if (closed) return;
    const { at: _at, ...rest } = snapshot;
    const body = JSON.stringify(rest);
    // Unchanged pictures are not sent again, but one goes out every few seconds so that the page sees it is live.
    if (last !== undefined && last.body === body && now - last.sentAt < 5 * intervalMs) return;
    const json = JSON.stringify(snapshot);
    last = { snapshot, json, body, sentAt: now };
    for (const listener of listeners) listener(snapshot, json);
  };

  const runTick = () => {
    ticking ??= tick()
      .catch(() => undefined)
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  };

  const start = () => {
    if (timer !== undefined || closed) return;
    void runTick();
    timer = setInterval(runTick, intervalMs);
  };

  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (last !== undefined) listener(last.snapshot, last.json);
      start();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    snapshot: () => view.look(Date.now(), true),
    async close() {
      closed = true;
      stop();
      listeners.clear();
      await ticking;
      await view.close();
    },
  };
}
