// cachesim: replays a cache trace against the two-phase cache or a baseline.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { missRatioPlot } from '../../cachesim/plot.js';
import { POLICIES, type PolicyName, type ReplayResult, replay, uniqueObjects } from '../../cachesim/replay.js';
import { readTrace } from '../../cachesim/trace.js';
import { InvalidArgumentError } from '../../errors.js';
import type { CommandResult } from '../output.js';
import type { CommandArgs } from './command.js';

/** Sizes of the plot, as fractions of the trace's unique objects. */
const PLOT_FRACTIONS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3];
const MIN_SIZE = 2;

/** `N` objects, or `P%` of the trace's unique objects. */
function parseCacheSize(text: string | undefined, unique: () => number): number {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(text ?? '');
  if (!match) throw new InvalidArgumentError(`--size must be a number of objects or a percentage such as 1%; got ${text}`);
  const size = match[2] ? Math.floor((unique() * Number(match[1])) / 100) : Number(match[1]);
  if (!Number.isSafeInteger(size) || size < MIN_SIZE) {
    throw new InvalidArgumentError(`--size must come to at least ${MIN_SIZE} objects; got ${text}`);
  }
  return size;
}

export async function cachesim(args: CommandArgs): Promise<CommandResult> {
  const path = args.values.trace;
  if (!path) throw new InvalidArgumentError('cachesim needs --trace FILE (one object id a line, optionally gzipped)');
  const policy = (args.values.policy ?? 'two-phase') as PolicyName;
  if (!POLICIES.includes(policy)) throw new InvalidArgumentError(`--policy must be one of ${POLICIES.join(', ')}`);
  const ids = readTrace(path);
  let unique: number | undefined;
  const uniqueCount = () => (unique ??= uniqueObjects(ids));
  const size = parseCacheSize(args.values.size, uniqueCount);
  const result = await replay(policy, size, ids);
  const trace = basename(path);
  const plotPath = args.values.plot;
  if (plotPath) {
    const sizes = [...new Set([...PLOT_FRACTIONS.map((f) => Math.max(MIN_SIZE, Math.floor(uniqueCount() * f))), size])];
    const results: ReplayResult[] = [];
    for (const name of POLICIES) for (const s of sizes) results.push(s === size && name === policy ? result : await replay(name, s, ids));
    writeFileSync(plotPath, missRatioPlot(`${trace}: miss ratio by cache size`, results));
  }
  return {
    json: { trace, ...result, ...(plotPath && { plot: plotPath }) },
    text: [
      `${trace}, ${policy}, ${size} objects: ${result.requests} requests, ${result.misses} misses, miss ratio ${result.missRatio.toFixed(4)}`,
      ...(plotPath ? [`plot of every policy by size written to ${plotPath}`] : []),
    ],
  };
}
