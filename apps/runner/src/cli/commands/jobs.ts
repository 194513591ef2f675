import { parseArgs } from 'node:util';
import { type JobState, type JobStore, type JobView, jobStates } from '../../control/jobs.js';
import { watchJob } from '../../jobs/job-watch.js';
import { type CliIo, type CommandHandler, exitCodes } from '../command.js';
import { controlFlags, withStore } from '../control-flags.js';
import { UsageError } from '../run-args.js';

const jobsHelp = `usage:
  ferry jobs [--state waiting|active|completed|failed|cancelled] [--json]   list the jobs of the queue
  ferry jobs --watch [JOB-ID] [--json]   follow a job until it ends (default: the newest active or waiting one)

--watch draws a progress line on a terminal (records, rate, and a bar with an ETA when
the source tells its backlog), and in logs and pipes the job's state changes and a line
every ten seconds at most; the last line on stdout says how the job ended (--json: the
job as JSON). Exit code 0 completed, 1 failed, 130 cancelled (or Ctrl-C: the job goes on).
Flags --config, --redis and --prefix as for serve.
`;

/** The jobs as a table: id, name, state, records, why it stopped, when it was created. */
function jobTable(jobs: readonly JobView[]): string {
  const rows = [['ID', 'NAME', 'STATE', 'RECORDS', 'STOPPED', 'CREATED']];
  for (const job of jobs) {
    const result = job.result as { records?: number; stopReason?: string } | undefined;
    const progress = job.progress as { records?: number } | undefined;
    rows.push([
      job.id,
      job.name,
      job.state,
      String(result?.records ?? progress?.records ?? 0),
      result?.stopReason ?? (job.error === undefined ? '-' : 'error'),
      job.createdAt ?? '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `ferry jobs --watch [id]`: the given job, or the newest active (else waiting) one; Ctrl-C stops watching only. */
async function watch(store: JobStore, given: string | undefined, json: boolean, io: CliIo): Promise<number> {
  let id = given;
  if (id === undefined) {
    const [active] = await store.list('active', 1);
    const [waiting] = active === undefined ? await store.list('waiting', 1) : [];
    id = (active ?? waiting)?.id;
    if (id === undefined) {
      io.stderr.write('error: no active or waiting job to watch; give a job id: ferry jobs --watch <job-id>\n');
      return exitCodes.failed;
    }
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await watchJob((jobId) => store.get(jobId), id, io, { json, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `ferry jobs`: the queue's jobs, or one followed until it ends. */
export const jobsCommand: CommandHandler = async (args, io, connectors) => {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...controlFlags,
      state: { type: 'string' },
      json: { type: 'boolean' },
      watch: { type: 'boolean', short: 'w' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(jobsHelp);
    return exitCodes.ok;
  }
  if (values.watch === true) {
    if (values.state !== undefined) throw new UsageError('[ferry] --watch follows one job: give its id, not --state');
    if (positionals.length > 1) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[1])}`);
    return withStore(values, io, connectors, (store) => watch(store, positionals[0], values.json === true, io));
  }
  if (positionals.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[0])}`);
  const state = values.state;
  if (state !== undefined && !(jobStates as readonly string[]).includes(state)) {
    throw new UsageError(`[ferry] --state expects one of ${jobStates.join(', ')}, got ${JSON.stringify(state)}`);
  }
  const jobs = await withStore(values, io, connectors, (store) => store.list(state as JobState | undefined));
  io.stdout.write(values.json === true ? `${JSON.stringify(jobs)}\n` : `${jobTable(jobs)}\n`);
  return exitCodes.ok;
};
