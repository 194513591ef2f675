import type { Timed } from './bench-case.js';
import { cases } from './cases.js';
import type { EdgeArgs, EdgeResult } from './edge-process.js';
import { movesPeakRssKb, processPeakRssKb } from './peak-rss.js';

/**
 * Runs one edge's rounds in this process, alone, so that the peak RSS it
 * reports is that edge's and nothing else's (not the other edges', nor the
 * MongoDB test server's, which runs in the parent): the pump's moves' peak
 * where it can be told apart (see `peak-rss.ts`), and the process's own.
 */
async function runEdge(args: EdgeArgs): Promise<EdgeResult> {
  const bench = cases[args.name];
  if (bench === undefined) throw new Error(`unknown edge ${args.name}`);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const pump: Timed[] = [];
  const loop: Timed[] = [];
  let workerRssKb: number | undefined;
  // Round 0 warms up and is not counted: the first moves in a fresh process
  // run cold (code not yet compiled, connections and queues made for the
  // first time), and the side that went first would pay for it alone.
  for (let round = args.pumpOnly ? 1 : 0; round <= args.rounds; round++) {
    const records = round === 0 ? Math.max(1, Math.round(args.records / 10)) : args.records;
    const prepared = await bench.prepare({ redisUrl, records, batchSize: args.batchSize, round });
    try {
      if (args.pumpOnly) {
        pump.push(await prepared.pump());
      } else {
        // Alternate which side goes first, so that drift of the machine favours neither.
        let pumpRun: Timed;
        let loopRun: Timed;
        if (round % 2 === 1) {
          pumpRun = await prepared.pump();
          loopRun = await prepared.loop();
        } else {
          loopRun = await prepared.loop();
          pumpRun = await prepared.pump();
        }
        if (round > 0) {
          pump.push(pumpRun);
          loop.push(loopRun);
        }
      }
      const worker = await prepared.workerPeakRssKb?.();
      if (worker !== undefined) workerRssKb = Math.max(workerRssKb ?? 0, worker);
    } finally {
      await prepared.close();
    }
  }
  const wholePeakKb = processPeakRssKb();
  return { pump, loop, peakRssKb: workerRssKb ?? movesPeakRssKb() ?? wholePeakKb, processPeakRssKb: wholePeakKb };
}

/** The parent checked the arguments; they come as one JSON argument, as `edge-process.ts` writes them. */
function parse(): EdgeArgs {
  const [json] = process.argv.slice(2);
  if (json === undefined)
    throw new Error('usage: run-edge \'{"name":"s2s","records":1000,"rounds":1,"batchSize":100,"pumpOnly":false}\'');
  return JSON.parse(json) as EdgeArgs;
}

runEdge(parse())
  .then((result) => {
    // Without a parent (run by hand) the result goes to stdout as JSON.
    if (process.send === undefined) console.log(JSON.stringify(result));
    else process.send(result, () => process.disconnect());
  })
  .catch((error: unknown) => {
    console.error(error instanceof Error ? `bench failed: ${error.message}` : error);
    process.exitCode = 1;
    process.disconnect?.();
  });
