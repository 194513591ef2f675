import { shortestCronGapSeconds } from '../control/jobs.js';
import { BadRequestError } from '../jobs/job-spec.js';

/**
 * Refuses a schedule that would queue jobs more often than the operator
 * allows (`api.minScheduleSeconds`): an `every` under it, or a cron pattern
 * two of whose next runs are closer.
 */
export function checkScheduleInterval(schedule: { every?: number; cron?: string }, minSeconds: number): void {
  const { every, cron } = schedule;
  if (every !== undefined && every < minSeconds) {
    throw new BadRequestError(
      `[ferry] invalid schedule:\n  - every: at least ${minSeconds} s between runs (api.minScheduleSeconds), got ${every}`,
    );
  }
  if (cron === undefined) return;
  let gap: number;
  try {
    gap = shortestCronGapSeconds(cron);
  } catch (error) {
    throw new BadRequestError(
      `[ferry] invalid schedule:\n  - cron: ${(error as Error).message} (got ${JSON.stringify(cron)})`,
    );
  }
  if (gap < minSeconds) {
    throw new BadRequestError(
      `[ferry] invalid schedule:\n  - cron: at least ${minSeconds} s between runs (api.minScheduleSeconds), got ${JSON.stringify(cron)}, ${gap} s apart`,
    );
  }
}
