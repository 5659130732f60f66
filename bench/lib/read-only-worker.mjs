// Worker for bench/concurrency's read-only rows: attaches, waits at the barrier,
// then runs `transactions` transactions that each sum 8 random u64s of `words`
// words at `at`, read-only (no lock) or as ordinary transactions (the lock).
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from '../../dist/host/api/index.js';

const { handle, barrier, transactions, at, words, readOnly, seed } = workerData;
const pool = await Pool.attach(handle);
let state = seed >>> 0 || 1;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % words;
};
const sum = (tx) => {
  let s = 0n;
  for (let i = 0; i < 8; i++) s += tx.getU64(at + next() * 8);
  return s;
};
const start = new Int32Array(barrier);
Atomics.add(start, 1, 1);
Atomics.wait(start, 0, 0);
const began = performance.now();
const options = { readOnly };
for (let i = 0; i < transactions; i++) pool.txSync(sum, options);
const ms = performance.now() - began;
pool.detach();
parentPort.postMessage({ operations: transactions, ms });
