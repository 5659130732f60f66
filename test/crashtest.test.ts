// The crash-state explorer over every workload, device and log: at least
// 10,000 crash states in total, and not one violation.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEVICE_PERSONALITIES } from '../host/api/index.js';
import { crashtest } from '../host/runtime/crashtest/explorer.js';
import { CACHE_WORKLOADS, WORKLOADS } from '../host/runtime/crashtest/workloads.js';

const STATES = 560; // x 18 combinations = 10,080 crash states
const TX_WORKLOADS = WORKLOADS.filter((workload) => !CACHE_WORKLOADS.includes(workload));
const SEED = Number(process.env.CRASHTEST_SEED ?? 20261121);

describe('crash-state explorer', () => {
  let total = 0;
  for (const device of DEVICE_PERSONALITIES) {
    for (const log of ['redo', 'undo'] as const) {
      it.each(TX_WORKLOADS)(`%s on ${device} with ${log} logging recovers every crash state`, async (workload) => {
        const report = await crashtest({ workload, device, log, states: STATES, seed: SEED });
        total += report.states;
        expect(report.states).toBe(STATES);
        expect(report.firstViolation, `seed ${SEED}`).toBeNull();
        expect(report.violations).toBe(0);
      });
    }
  }

  // Redo and undo transactions alternating in one pool: recovery must never replay an older journal over a newer undo commit.
  for (const device of DEVICE_PERSONALITIES) {
    it.each(TX_WORKLOADS)(`%s on ${device} alternating redo and undo recovers every crash state`, async (workload) => {
      const report = await crashtest({ workload, device, log: 'both', states: 300, seed: SEED });
      total += report.states;
      expect(report.firstViolation, `seed ${SEED}`).toBeNull();
    });
  }

  // Concurrent transactions stage their records in the thread's buffer and move them into a journal at commit.
  for (const device of DEVICE_PERSONALITIES) {
    it.each(TX_WORKLOADS)(`%s on ${device} with concurrent transactions recovers every crash state`, async (workload) => {
      const report = await crashtest({ workload, device, log: 'concurrent', states: 300, seed: SEED });
      total += report.states;
      expect(report.firstViolation, `seed ${SEED}`).toBeNull();
    });
  }

  // The persistent cache runs redo transactions. kv: evictions, ghost promotions and hot sweeps in every few steps;
  // grow: a cache doubling its records and buckets, with most crashes in the middle of a bucket move.
  for (const workload of CACHE_WORKLOADS) {
    it.each(DEVICE_PERSONALITIES)(`${workload} on %s recovers every crash state to the reference cache`, async (device) => {
      const report = await crashtest({ workload, device, log: 'redo', states: 1000, seed: SEED });
      total += report.states;
      expect(report.firstViolation, `seed ${SEED}`).toBeNull();
    });
  }

  it('examined at least 10,000 crash states', () => {
    expect(total).toBeGreaterThanOrEqual(10_000);
  });

  it('runs from the CLI and prints one JSON report', () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'wasm-pmem.js');
    const args = ['crashtest', '--workload', 'bank', '--device', 'adr', '--log', 'undo', '--states', '50', '--seed', '7', '--json'];
    const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      workload: 'bank', device: 'adr', log: 'undo', seed: 7, states: 50, violations: 0, firstViolation: null,
    });
  });
});
