// The crash-state explorer. It runs a workload on a pool, stops at every fence
// and between the stores of each transaction, takes the crash image the device
// model gives for that moment (for adr: a seeded random subset of dirty lines,
// each possibly torn at 8 bytes), recovers it in a fresh instance and checks
// that the recovered state is exactly the state after the acknowledged
// transactions, or after those plus the one in flight, and that the pool header
// and allocator are valid.
import { Pool } from '../../api/pool.js';
import type { TxLog, TxOptions } from '../../api/transaction.js';
import type { DevicePersonality } from '../../device/personality.js';
import { seededRandom } from '../../device/prng.js';
import { InvalidArgumentError, NoSpaceError } from '../../errors.js';
import { MemoryStore } from '../../store/memory-store.js';
import { PoolRuntime } from '../pool-runtime.js';
import { CACHE_WORKLOADS, type WorkloadName, createWorkload } from './workloads.js';

export type ExplorerLog = TxLog | 'both' | 'concurrent';
export const EXPLORER_LOGS: readonly ExplorerLog[] = ['redo', 'undo', 'both', 'concurrent'];

export interface CrashtestOptions {
  workload: WorkloadName;
  device: DevicePersonality;
  /**
   * 'both' alternates redo and undo transactions, so recovery meets both logs in one pool;
   * 'concurrent' runs concurrent redo transactions (staged in the thread's buffer, moved into a journal at commit).
   */
  log: ExplorerLog;
  /** Crash states to examine. */
  states: number;
  seed: number;
}

export interface Violation {
  /** Index of the crash state: rerun with the same seed to reproduce it. */
  state: number;
  /** The workload transaction in flight (or just committed) when the crash happened. */
  step: number;
  /** 'fence', 'store' (between the stores of a transaction) or 'commit' (after one). */
  at: string;
  message: string;
}

export interface CrashtestReport {
  workload: WorkloadName;
  device: DevicePersonality;
  log: ExplorerLog;
  seed: number;
  states: number;
  violations: number;
  firstViolation: Violation | null;
}

interface CrashState {
  image: Uint8Array;
  state: number;
  step: number;
  at: string;
  /** Committed steps when the crash happened. */
  committed: number;
  inFlight: boolean;
}

const POOL_SIZE = 2 << 20;

export async function crashtest(options: CrashtestOptions): Promise<CrashtestReport> {
  const { device, log, seed } = options;
  if (CACHE_WORKLOADS.includes(options.workload) && log !== 'redo') {
    throw new InvalidArgumentError(`the ${options.workload} workload runs redo transactions: use --log redo`);
  }
  const pool = await Pool.open({ store: new MemoryStore(), size: POOL_SIZE, create: true, device, backgroundFlushMs: 0 });
  const workload = createWorkload(options.workload);
  const logFor = (step: number): TxOptions => {
    if (log === 'concurrent') return { log: 'redo', concurrent: true };
    return { log: log === 'both' ? (step % 2 === 0 ? 'redo' : 'undo') : log };
  };
  await workload.setup(pool, logFor(0));
  const random = seededRandom(seed);
  const expected = [workload.expected()];
  const report: CrashtestReport = { ...options, states: 0, violations: 0, firstViolation: null };
  let pending: CrashState[] = [];
  let step = 0;
  let inFlight = false;

  const capture = (at: string) => {
    if (report.states >= options.states) return;
    const state = report.states++;
    const image = pool.device.crash({ seed: (Math.imul(seed, 1_000_003) + state) >>> 0 });
    pending.push({ image, state, step, at, committed: expected.length - 1, inFlight });
  };

  const verify = async (crash: CrashState) => {
    const allowed = crash.inFlight ? expected.slice(crash.committed, crash.committed + 2) : [expected[crash.committed]];
    const recovered = await PoolRuntime.recoverImage(crash.image, device);
    let message = recovered.problem;
    if (!message) {
      try {
        const observed = workload.observe(recovered);
        if (!allowed.includes(observed)) message = `recovered state is not a committed prefix: ${observed}`;
      } catch (error) {
        message = (error as Error).message;
      }
    }
    if (message === undefined) return;
    report.violations++;
    report.firstViolation ??= { state: crash.state, step: crash.step, at: crash.at, message };
  };

  pool.device.traceFences(() => capture('fence'));
  try {
    while (report.states < options.states) {
      step++;
      inFlight = true;
      try {
        const commit = workload.step(pool, logFor(step), random, () => capture('store'));
        commit();
        expected.push(workload.expected());
      } catch (error) {
        if (!(error instanceof NoSpaceError)) throw error; // a full heap aborts the step: nothing may show
      }
      inFlight = false;
      capture('commit');
      for (const crash of pending) await verify(crash);
      pending = [];
    }
  } finally {
    pool.device.traceFences(undefined);
    await pool.close();
  }
  return report;
}
