import { parseArgs } from 'node:util';
import { readConfigInput } from '../../config-file.js';
import { flowRequest } from '../../jobs/job-spec.js';
import { controlSettings, loadServerConfig, withControl } from '../../server-config.js';
import { type CommandHandler, exitCodes } from '../command.js';
import { controlFlags, positiveInt, withStore } from '../control-flags.js';
import { UsageError } from '../run-args.js';

const submitHelp = `usage:
  ferry submit <config-file> <flow-name> [--parallelism N]   queue a flow of the config
  ferry submit [--config FILE] --file FLOW-FILE              queue a flow spec from a file

Validates the flow as the API does and prints the job id. Flags --redis and --prefix as for serve.
`;

/** `ferry submit`: a flow of the config, or a spec from a file, checked as the API checks it and queued. */
export const submitCommand: CommandHandler = async (args, io, connectors) => {
  const { values, positionals } = parseArgs({
    args,
    options: { ...controlFlags, file: { type: 'string', short: 'f' }, parallelism: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(submitHelp);
    return exitCodes.ok;
  }
  let configFile = values.config;
  let body: unknown;
  if (values.file !== undefined) {
    if (positionals.length > 0)
      throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(positionals[0])} with --file`);
    body = readConfigInput(values.file, io.env);
  } else {
    const [file, flow, ...rest] = positionals;
    if (file === undefined || flow === undefined)
      throw new UsageError('[ferry] usage: ferry submit <config-file> <flow-name>');
    if (rest.length > 0) throw new UsageError(`[ferry] unexpected argument ${JSON.stringify(rest[0])}`);
    configFile = file;
    body = { flow };
  }
  if (values.parallelism !== undefined && body !== null && typeof body === 'object') {
    body = { ...body, parallelism: positiveInt(values.parallelism, 'parallelism', 1) };
  }
  const loaded = await loadServerConfig(configFile, io.env, values.redis, connectors);
  const { registry } = loaded;
  const server = withControl(loaded.server, controlSettings(values, io.env, loaded.server));
  const data = { ...flowRequest(body, server, registry), origin: 'cli' as const };
  const id = await withStore(
    { ...values, config: configFile },
    io,
    registry,
    (store) => store.submit(data),
    configFile === undefined ? undefined : server,
  );
  io.stdout.write(`${id}\n`);
  return exitCodes.ok;
};
