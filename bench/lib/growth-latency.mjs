// Operation latency while a persistent cache grows from 1 M to 4 M entries,
// with incremental bucket moves and with a stop-the-world rehash. The cache
// (evict 'none', capacity 1 M, maxCapacity 4 M) is filled to 1 M first; the
// timed phase then sets 3 M new keys, each followed by a lookup of a key set
// earlier, so the cache doubles twice (records and buckets) along the way.
//
// Operations are issued on a fixed schedule (an open loop) and each latency is
// counted from the operation's scheduled start, not from when it could start:
// a pause delays every operation scheduled during it, as clients of a server
// would see it. Measured only from the moment it starts, a two-second pause
// would be two slow operations among six million and vanish from the p99.
// The rate is half of what the incremental run sustains unpaced, measured
// first in the same process. A third run on a cache created with 4 M entries
// (nothing grows) shows the floor this machine's own pauses set.
import { MemoryStore, Pool } from '../../dist/host/api/index.js';

const FIRST = 1 << 20;
const LAST = 4 << 20;
const VALUE = new Uint8Array(8);

const MODES = {
  incremental: { capacity: FIRST, maxCapacity: LAST, evict: 'none', rehash: 'incremental' },
  'stop-the-world': { capacity: FIRST, maxCapacity: LAST, evict: 'none', rehash: 'stop-the-world' },
  'no growth (4 M from the start)': { capacity: LAST, evict: 'none' },
};

async function filledCache(options) {
  const pool = await Pool.open({ store: new MemoryStore(), size: 512 << 20, create: true, device: 'eadr', backgroundFlushMs: 0 });
  const kv = pool.kv('growth', options);
  for (let key = 0; key < FIRST; key++) kv.set(key, VALUE);
  return { pool, kv };
}

/** Runs the timed phase; `rate` operations per second, or unpaced when 0. Returns latencies (us) and the elapsed ms. */
function timedPhase(kv, rate) {
  const operations = 2 * (LAST - FIRST);
  const latencies = new Float64Array(operations);
  let x = 12345;
  const start = performance.now();
  const interval = rate > 0 ? 1000 / rate : 0;
  for (let op = 0, key = FIRST; op < operations; op += 2, key++) {
    for (let i = 0; i < 2; i++) {
      const scheduled = start + (op + i) * interval;
      let now = performance.now();
      while (now < scheduled) now = performance.now();
      const issued = rate > 0 ? scheduled : now;
      if (i === 0) kv.set(key, VALUE);
      else {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        if (kv.get(x % key) === undefined) throw new Error(`key ${x % key} is missing`);
      }
      latencies[op + i] = (performance.now() - issued) * 1000;
    }
  }
  return { latencies, ms: performance.now() - start };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** Rows for both rehash modes and the floor, on the same schedule, and the ratio of the two modes' p99s. */
export async function growthLatency() {
  const rows = [];
  let rate = 0;
  for (const mode of ['incremental', 'incremental', 'stop-the-world', 'no growth (4 M from the start)']) {
    const { pool, kv } = await filledCache(MODES[mode]);
    const { latencies, ms } = timedPhase(kv, rate);
    const { capacity, bucketsToMove } = kv.stats();
    await pool.close();
    if (capacity !== LAST || bucketsToMove !== 0) throw new Error(`${mode}: the cache grew to ${capacity}, ${bucketsToMove} buckets still to move`);
    if (rate === 0) {
      // The first incremental run, unpaced, sets the schedule's rate.
      rate = Math.round(latencies.length / (ms / 1000) / 2);
      continue;
    }
    const sorted = latencies.sort();
    rows.push({
      mode,
      'ops/s scheduled': rate,
      'p50 us': Number(percentile(sorted, 0.5).toFixed(1)),
      'p99 us': Number(percentile(sorted, 0.99).toFixed(1)),
      'p99.9 us': Number(percentile(sorted, 0.999).toFixed(1)),
      'max us': Math.round(sorted[sorted.length - 1]),
    });
  }
  return { rows, ratio: rows[0]['p99 us'] / rows[1]['p99 us'] };
}
