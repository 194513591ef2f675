import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The peak RSS of the pump's moves alone. An edge's process also seeds its
 * source and runs the hand loop, and its lifetime peak says as much about
 * those as about the pump. On Linux the peak (VmHWM) can be set back to the
 * current RSS (`/proc/self/clear_refs`, "5"): each move starts from a
 * collected heap and a reset peak, and the highest peak after a move is the
 * pump's. Elsewhere the lifetime peak stands in.
 */
let movesPeakKb: number | undefined;
/** The highest peak before each reset: a reset loses the process's own peak (getrusage's too). */
let earlierPeakKb = 0;

/** VmHWM in KiB, or undefined where /proc is not Linux's. */
function highWaterKb(): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * A full collection (run-edge runs with --expose-gc). Before a move, so that
 * the seeding's garbage counts neither as the pump's memory nor as either
 * side's time: both sides start from a collected heap.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function resetHighWater(): boolean {
  collectGarbage();
  earlierPeakKb = Math.max(earlierPeakKb, highWaterKb() ?? 0);
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** Runs one move with the peak reset before it, and keeps its peak when that is the highest so far. */
export async function measuringPeak<T>(move: () => Promise<T>): Promise<T> {
  const reset = resetHighWater();
  const result = await move();
  const peak = reset ? highWaterKb() : undefined;
  if (peak !== undefined) movesPeakKb = Math.max(movesPeakKb ?? 0, peak);
  return result;
}

/** The highest peak RSS of the moves measured, in KiB; undefined when the peak could not be reset. */
export function movesPeakRssKb(): number | undefined {
  return movesPeakKb;
}

/** The whole process's peak RSS so far, in KiB, resets or not. */
export function processPeakRssKb(): number {
  return Math.max(earlierPeakKb, highWaterKb() ?? 0, process.resourceUsage().maxRSS);
}
