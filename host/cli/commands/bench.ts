// bench: runs the benchmarks in bench/ (a source checkout; they need the dev dependencies).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';
import { InvalidArgumentError } from '../../errors.js';
import type { CommandResult } from '../output.js';
import type { CommandArgs } from './command.js';

export async function bench(args: CommandArgs): Promise<CommandResult> {
  const dir = join(packageRoot(), 'bench');
  const available = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4)) : [];
  const names = args.positionals.length > 0 ? args.positionals : available;
  for (const name of names) {
    if (!available.includes(name)) {
      throw new InvalidArgumentError(`no benchmark named ${name}; available: ${available.join(', ') || 'none'}`);
    }
  }
  const json = args.flags.json ?? false;
  const results: Record<string, unknown> = {};
  let failed = false;
  for (const name of names) {
    // With --json the tables stay off stdout, and each benchmark's closing JSON line is collected.
    const run = spawnSync(process.execPath, ['--expose-gc', join(dir, `${name}.mjs`)], {
      encoding: 'utf8',
      stdio: json ? ['ignore', 'pipe', 'inherit'] : 'inherit',
    });
    failed ||= run.status !== 0;
    if (json) results[name] = JSON.parse(run.stdout.trim().split('\n').pop() || 'null');
  }
  return { json: { ok: !failed, command: 'bench', results }, text: [], exitCode: failed ? 1 : 0 };
}
