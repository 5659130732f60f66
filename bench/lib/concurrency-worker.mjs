// A worker of bench/concurrency: attaches to the owner's pool, waits at the
// start barrier, runs its operations on the cache 'bench', and reports
// its operations and the time they took. An operation is a set with
// probability `setShare`, else a lookup.
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from '../../dist/host/api/index.js';
import { zipfKeys } from './zipf.mjs';

const { handle, barrier, operations, universe, setShare, seed } = workerData;
const pool = await Pool.attach(handle);
const kv = pool.kv('bench');
const keys = zipfKeys(operations, universe, 0.99, seed);
const value = new Uint8Array(16);
let x = seed >>> 0 || 1;
const start = new Int32Array(barrier);
Atomics.add(start, 1, 1);
Atomics.wait(start, 0, 0);
const began = performance.now();
for (let i = 0; i < keys.length; i++) {
  const key = keys[i];
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  if ((x >>> 0) / 2 ** 32 < setShare) {
    value[0] = i;
    kv.set(key, value);
  } else kv.get(key);
}
const ms = performance.now() - began;
pool.detach();
parentPort.postMessage({ operations: keys.length, ms });
