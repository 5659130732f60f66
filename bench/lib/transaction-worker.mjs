// Worker for bench/concurrency's transaction rows: attaches, waits at the
// barrier, then runs `transactions` transactions that each sum 8 random u64s of
// the `words` words at `at` and, with `writes`, store the sum at a random word of
// this worker's own table (`words` words at `ownAt` + index x words x 8).
// `options`: the transactions' options (read-only, concurrent, or none: the lock).
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from '../../dist/host/api/index.js';

const { handle, barrier, transactions, at, words, reads, writes, ownAt, index, options, seed } = workerData;
const pool = await Pool.attach(handle);
let state = seed >>> 0 || 1;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % words;
};
const own = writes ? ownAt + index * words * 8 : 0;
const body = (tx) => {
  let s = 0n;
  for (let i = 0; i < reads; i++) s += tx.getU64(at + next() * 8);
  if (writes) tx.setU64(own + next() * 8, s);
  return s;
};
const start = new Int32Array(barrier);
Atomics.add(start, 1, 1);
Atomics.wait(start, 0, 0);
const began = performance.now();
for (let i = 0; i < transactions; i++) pool.txSync(body, options);
const ms = performance.now() - began;
pool.detach();
parentPort.postMessage({ operations: transactions, ms });
