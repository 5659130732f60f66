// The persistent cache from several worker threads on one pool: throughput with
// 1 and 2 workers, on a read-heavy workload (95% lookups) and a mixed one (50%
// sets), Zipf 0.99 integer keys over a universe of 10x the capacity. Workers
// start together at a barrier;
// throughput is all their operations over the slowest worker's time.
// Then transactions that read 8 words, read-only (no lock) against ordinary
// ones (the pool's lock), and transactions that read 8 words and write 1 (to a
// table of the worker's own), concurrent (the lock only to commit) against
// ordinary ones, with 1 and 2 workers.
// Then operation latency while a cache grows from 1 M to 4 M entries, with
// incremental bucket moves against a stop-the-world rehash (lib/growth-latency.mjs).
import { Worker } from 'node:worker_threads';
import { MemoryStore, Pool } from '../dist/host/api/index.js';
import { growthLatency } from './lib/growth-latency.mjs';

const CAPACITY = 100_000;
const UNIVERSE = CAPACITY * 10;
const OPERATIONS = 2_000_000; // per worker
const RUNS = 5;
const WORKLOADS = { 'read-heavy (95% get)': 0.05, 'mixed (50% set)': 0.5 };

const READ_TRANSACTIONS = 1_000_000; // per worker
const READ_WORDS = 4096;

/** Runs `workers` copies of worker `file` from one barrier; all their operations per second of the slowest. */
async function run(pool, workers, file, workerData) {
  const barrier = new SharedArrayBuffer(8);
  const handle = pool.workerHandle();
  const url = new URL(file, import.meta.url);
  const results = Array.from({ length: workers }, (_, i) => {
    const worker = new Worker(url, { workerData: { handle, barrier, ...workerData, index: i, seed: workerData.seed + i } });
    return new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  });
  const start = new Int32Array(barrier);
  while (Atomics.load(start, 1) < workers) await new Promise((resolve) => setTimeout(resolve, 5));
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  const done = await Promise.all(results);
  const operations = done.reduce((n, r) => n + r.operations, 0);
  return operations / (Math.max(...done.map((r) => r.ms)) / 1000);
}

const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
const row = (workload, rates) => ({
  workload,
  '1 worker ops/s': Math.round(median(rates[1])),
  '2 workers ops/s': Math.round(median(rates[2])),
  scaling: (median(rates[2]) / median(rates[1])).toFixed(2),
});
const rows = [];
const pool = await Pool.open({ store: new MemoryStore(), size: 64 << 20, create: true, device: 'eadr', backgroundFlushMs: 0 });
const kv = pool.kv('bench', { capacity: CAPACITY });
for (let key = 0; key < CAPACITY; key++) kv.set(key, new Uint8Array(16));
for (const [workload, setShare] of Object.entries(WORKLOADS)) {
  const rates = { 1: [], 2: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const workers of [1, 2]) {
      const data = { operations: OPERATIONS, universe: UNIVERSE, setShare, seed: 1 + r * 10 };
      rates[workers].push(await run(pool, workers, './lib/concurrency-worker.mjs', data));
    }
  }
  rows.push(row(workload, rates));
}
const [words, ownTables] = pool.txSync((tx) => {
  const at = tx.alloc(READ_WORDS * 8);
  tx.write(at, new Uint8Array(BigUint64Array.from({ length: READ_WORDS }, (_, i) => BigInt(i)).buffer));
  return [at, tx.alloc(2 * READ_WORDS * 8)];
});
const TRANSACTION_ROWS = [
  ['transactions reading 8 words, read-only', false, { readOnly: true }],
  ['transactions reading 8 words, with the lock', false, {}],
  ['transactions reading 8 words and writing 1, concurrent', true, { concurrent: true }],
  ['transactions reading 8 words and writing 1, with the lock', true, {}],
];
for (const [workload, writes, options] of TRANSACTION_ROWS) {
  const rates = { 1: [], 2: [] };
  for (let r = 0; r < RUNS; r++) {
    for (const workers of [1, 2]) {
      const data = { transactions: READ_TRANSACTIONS, at: words, words: READ_WORDS, reads: 8, writes, ownAt: ownTables, options, seed: 1 + r * 10 };
      rates[workers].push(await run(pool, workers, './lib/transaction-worker.mjs', data));
    }
  }
  rows.push(row(workload, rates));
}
await pool.close();
console.table(rows);
const growth = await growthLatency();
console.table(growth.rows);
const readHeavy = rows[0];
const scaling = Number(readHeavy.scaling);
console.log(`target read-heavy 2 workers >= 1.7x 1 worker: ${scaling >= 1.7 ? 'met' : 'NOT met'} (${scaling.toFixed(2)})`);
console.log(`target p99 during growth <= 0.1x stop-the-world: ${growth.ratio <= 0.1 ? 'met' : 'NOT met'} (${growth.ratio.toPrecision(2)}x)`);
const readOnlyScaling = Number(rows[2].scaling);
const concurrentScaling = Number(rows[4].scaling);
const concurrentVsLocked = rows[4]['2 workers ops/s'] / rows[5]['2 workers ops/s'];
console.log(
  JSON.stringify({
    bench: 'concurrency',
    rows,
    growth: growth.rows,
    ratios: {
      readHeavyScaling: scaling,
      readOnlyTransactionScaling: readOnlyScaling,
      concurrentTransactionScaling: concurrentScaling,
      concurrentVsLockedWith2Workers: concurrentVsLocked,
      growthP99VsStopTheWorld: growth.ratio,
    },
  }),
);
