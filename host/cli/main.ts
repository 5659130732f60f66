// The wasm-pmem command-line tool.
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '../errors.js';
import { bench } from './commands/bench.js';
import { cachesim } from './commands/cachesim.js';
import type { Command } from './commands/command.js';
import { crashtest } from './commands/crashtest.js';
import { demo } from './commands/demo.js';
import { check, create, info } from './commands/pool-commands.js';
import { restore, save } from './commands/snapshot-commands.js';
import { web } from './commands/web.js';
import { errorResult, printResult } from './output.js';

const COMMANDS: Record<string, Command> = { create, info, check, save, restore, crashtest, cachesim, bench, demo, web };

const USAGE = `usage: wasm-pmem <command> [options] [--json]

  create PATH --size SIZE [--device adr|eadr|nvdimm-n]   create a pool file
  info PATH                                              describe a pool
  check PATH                                             verify every checksum (exit 0 if valid)
  save PATH SNAPSHOT [--force]                           write the pool's newest image to a snapshot file
  restore SNAPSHOT PATH [--force]                        rebuild a pool from a snapshot file
  crashtest [--workload bank|alloc|mixed|kv|grow] [--device D] [--log redo|undo|both|concurrent] [--states N] [--seed S]
                                                         recover crash images at every fence and store
  cachesim --trace FILE --size N|P% [--policy two-phase|lru|s3fifo] [--plot FILE.svg]
                                                         miss ratio of a cache policy on a trace
  bench [save-restore] [tx]                              run benchmarks beside their peers (source checkout)
  demo [--dir DIR] [--size SIZE] [--hold-up-ms MS]       a pool survives a modelled power loss
  web [--port PORT]                                      serve the browser demo (source checkout)

With --json every command prints exactly one JSON object on stdout.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (!name || name === '--help' || name === 'help' || !COMMANDS[name]) {
    process.stdout.write(`${USAGE}\n`);
    return name && name !== '--help' && name !== 'help' ? 2 : 0;
  }
  let result;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          json: { type: 'boolean' },
          force: { type: 'boolean' },
          verify: { type: 'boolean' },
          size: { type: 'string' },
          device: { type: 'string' },
          dir: { type: 'string' },
          records: { type: 'string' },
          'hold-up-ms': { type: 'string' },
          workload: { type: 'string' },
          log: { type: 'string' },
          states: { type: 'string' },
          seed: { type: 'string' },
          trace: { type: 'string' },
          policy: { type: 'string' },
          plot: { type: 'string' },
          port: { type: 'string' },
        },
      });
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    const values: Record<string, string | undefined> = {};
    const flags: Record<string, boolean | undefined> = {};
    for (const [key, value] of Object.entries(parsed.values)) {
      if (typeof value === 'boolean') flags[key] = value;
      else values[key] = value;
    }
    result = await COMMANDS[name]({ positionals: parsed.positionals, values, flags });
  } catch (error) {
    result = errorResult(name, error);
  }
  printResult(result, json);
  return result.exitCode ?? 0;
}
