/**
 * The ids of the queue, as ferry makes them: a job is a random UUID
 * (`JobStore.submit`) or a schedule's run, `repeat:<schedule id>:<ms>`
 * (BullMQ's job schedulers). A job id is also a key under the queue's prefix,
 * beside BullMQ's own (`meta`, `events`, `repeat:<schedule id>`…), so nothing
 * else may reach the queue as one.
 */

/** A schedule's id: no `:`, so that `repeat:<id>:<ms>` is read one way only and is never a schedule's own key. */
export const scheduleIdPattern = /^[A-Za-z0-9_.-]{1,100}$/;
export const scheduleIdMessage = 'expected 1 to 100 letters, digits, _ . -';

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
export const jobIdPattern = new RegExp(`^(?:${uuid}|repeat:[A-Za-z0-9_.-]{1,100}:[0-9]{1,16})$`);
export const jobIdMessage =
  "expected a job id as ferry gives them: a UUID, or repeat:<schedule id>:<time> for a schedule's run";

export const isJobId = (id: string): boolean => jobIdPattern.test(id);
