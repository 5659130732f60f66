// crashtest: the crash-state explorer from the command line.
import { parsePersonality } from '../../device/personality.js';
import { InvalidArgumentError } from '../../errors.js';
import { EXPLORER_LOGS, type ExplorerLog, crashtest as explore } from '../../runtime/crashtest/explorer.js';
import { WORKLOADS, type WorkloadName } from '../../runtime/crashtest/workloads.js';
import type { CommandResult } from '../output.js';
import type { CommandArgs } from './command.js';

function positiveInteger(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer; got ${text}`);
  return value;
}

export async function crashtest(args: CommandArgs): Promise<CommandResult> {
  const workload = (args.values.workload ?? 'mixed') as WorkloadName;
  if (!WORKLOADS.includes(workload)) throw new InvalidArgumentError(`--workload must be one of ${WORKLOADS.join(', ')}`);
  const device = parsePersonality(args.values.device ?? 'adr');
  const log = args.values.log ?? 'redo';
  if (!EXPLORER_LOGS.includes(log as ExplorerLog)) throw new InvalidArgumentError(`--log must be one of ${EXPLORER_LOGS.join(', ')}`);
  const states = positiveInteger(args.values.states, '--states', 1000);
  const seed = positiveInteger(args.values.seed, '--seed', Math.floor(Math.random() * 2 ** 31)) >>> 0;
  const report = await explore({ workload, device, log: log as ExplorerLog, states, seed });
  const first = report.firstViolation;
  return {
    json: { ...report },
    text: [
      `crashtest ${workload} on ${device} (${log}), seed ${seed}: ${report.states} crash states, ${report.violations} violations`,
      ...(first ? [`  first: state ${first.state} at ${first.at} of transaction ${first.step}: ${first.message}`] : []),
      ...(first ? [`  reproduce: wasm-pmem crashtest --workload ${workload} --device ${device} --log ${log} --seed ${seed} --states ${first.state + 1}`] : []),
    ],
    exitCode: report.violations === 0 ? 0 : 1,
  };
}
