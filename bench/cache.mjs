// The persistent cache beside its peers, in one run:
// (a) miss ratio of the two-phase cache, LRU and S3-FIFO on every public trace
//     at 0.1%, 1% and 10% of its unique objects, with libCacheSim's reference
//     numbers (shared/traces/REFERENCE.md) beside them;
// (b) throughput of get with set-on-miss on Zipf 0.99 integer keys (a key
//     universe 10x the capacity) at capacities 100 k and 1 M, against
//     lru-cache, with single calls and with the batch forms;
// (c) bytes per entry at 1 M entries against lru-cache, 16-byte values.
// Run with `node --expose-gc bench/cache.mjs` (the npm script does).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { MemoryStore, Pool } from '../dist/host/api/index.js';
import { replay, uniqueObjects } from '../dist/host/cachesim/replay.js';
import { readTrace } from '../dist/host/cachesim/trace.js';
import { zipfKeys } from './lib/zipf.mjs';

const TRACES = join(import.meta.dirname, '..', '..', 'shared', 'traces');
const SIZES = { '0.1%': 1000, '1%': 100, '10%': 10 };
const OPS = 2_000_000;
const BATCH = 1024;
const VALUE_BYTES = 16;
const MiB = 1 << 20;
// --quick: no arc-P3 and only 100 k entries; --no-traces: throughput and memory only.
const quick = process.argv.includes('--quick');
const traces = !process.argv.includes('--no-traces');

const freshValue = (key) => {
  const value = new Uint8Array(VALUE_BYTES);
  value[0] = key;
  return value;
};

const poolSizeFor = (capacity, caches = 1) => Math.ceil((caches * capacity * 200 + 16 * MiB) / MiB) * MiB;

// (c) Bytes per entry, first: pools freed by the later sections would shrink the peer's measured heap
// when their memory is released in the middle of its measurement.
const memoryRows = [];
if (!quick && globalThis.gc) {
  const entries = 1_000_000;
  const heapBefore = () => {
    globalThis.gc();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };
  let before = heapBefore();
  const lru = new LRUCache({ max: entries });
  for (let key = 0; key < entries; key++) lru.set(key * 7, freshValue(key));
  const lruBytes = (heapBefore() - before) / entries;
  const pool = await Pool.open({ store: new MemoryStore(), size: poolSizeFor(entries), create: true, device: 'eadr', backgroundFlushMs: 0 });
  const heapUsedBefore = pool.info().heap.usedBytes;
  const kv = pool.kv('memory', { capacity: entries });
  for (let key = 0; key < entries; key++) kv.set(key * 7, freshValue(key));
  const kvBytes = (pool.info().heap.usedBytes - heapUsedBefore) / entries;
  memoryRows.push({ system: 'lru-cache', 'bytes/entry': lruBytes.toFixed(1), entries: lru.size });
  memoryRows.push({ system: 'wasm-pmem kv', 'bytes/entry': kvBytes.toFixed(1), entries: kv.stats().cold + kv.stats().hot });
  await pool.close();
}

/** The full tables of REFERENCE.md: trace -> policy -> [0.1%, 1%, 10%] miss ratios. */
function referenceTables() {
  const text = readFileSync(join(TRACES, 'REFERENCE.md'), 'utf8');
  const tables = {};
  // cloudPhysicsIO's table has eight sizes; 0.1%, 1% and 10% are its first, third and fifth.
  const real = text.slice(text.indexOf('## Real trace: cloudPhysicsIO'));
  tables.cloudPhysicsIO = {};
  for (const line of real.slice(0, real.indexOf('Exact miss counts')).split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const ratios = [1, 3, 5].map((i) => Number.parseFloat(cells[i]));
    if (cells.length === 9 && ratios.every(Number.isFinite)) tables.cloudPhysicsIO[cells[0]] = ratios;
  }
  for (const section of text.split('\n#### ').slice(1)) {
    const name = section.slice(0, section.indexOf(' '));
    tables[name] = {};
    for (const line of section.split('\n')) {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      const ratios = cells.slice(1).map((c) => Number.parseFloat(c));
      if (cells.length === 4 && ratios.every(Number.isFinite)) tables[name][cells[0]] = ratios;
    }
  }
  return tables;
}

// (a) Miss ratios.
const reference = referenceTables();
const classic = Object.keys(reference).filter((trace) => trace !== 'cloudPhysicsIO');
const missRows = [];
for (const file of traces ? readdirSync(TRACES).filter((f) => f.endsWith('.ids.txt.gz')) : []) {
  const trace = file.replace('.ids.txt.gz', '');
  if (quick && trace === 'arc-P3') continue;
  const ids = readTrace(join(TRACES, file));
  const unique = uniqueObjects(ids);
  Object.entries(SIZES).forEach(([label, divisor], column) => {
    const size = trace === 'cloudPhysicsIO' ? Math.floor(unique / divisor) : Math.max(10, Math.floor(unique / divisor));
    const row = { trace, size: label, objects: size };
    for (const policy of ['two-phase', 'lru', 's3fifo']) row[policy] = 0;
    missRows.push({ row, ids, size, column });
  });
}
for (const entry of missRows) {
  for (const policy of ['two-phase', 'lru', 's3fifo']) entry.row[policy] = (await replay(policy, entry.size, entry.ids)).missRatio;
  const ref = reference[entry.row.trace];
  for (const [name, key] of [['ref LRU', 'LRU'], ['ref ARC', 'ARC'], ['ref LIRS', 'LIRS'], ['ref S3FIFO', 'S3FIFO (thr=2, default)']]) {
    entry.row[name] = ref?.[key]?.[entry.column];
  }
  entry.ids = undefined;
}
const fmt = (v) => (v === undefined ? '' : v.toFixed(4));
if (traces) console.table(missRows.map(({ row }) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' && k !== 'objects' ? fmt(v) : v]))));

const mean = (label, key) => {
  const rows = missRows.filter(({ row }) => row.size === label && classic.includes(row.trace)).map(({ row }) => row[key]);
  return rows.reduce((a, b) => a + b, 0) / rows.length;
};
const means = Object.fromEntries(
  Object.keys(SIZES).map((label) => [label, Object.fromEntries(['two-phase', 'lru', 's3fifo', 'ref ARC', 'ref LIRS'].map((k) => [k, mean(label, k)]))]),
);
if (traces) console.table(Object.entries(means).map(([size, m]) => ({ size, ...Object.fromEntries(Object.entries(m).map(([k, v]) => [k, fmt(v)])) })));
const worstOverLru = missRows.reduce(
  (worst, { row }) => (row['two-phase'] - row.lru > worst.by ? { by: row['two-phase'] - row.lru, trace: row.trace, size: row.size } : worst),
  { by: -1 },
);

// (b) Throughput.
function lruSingle(cache, keys) {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (cache.get(key) === undefined) cache.set(key, freshValue(key));
  }
}
function kvSingle(kv, keys) {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (kv.get(key) === undefined) kv.set(key, freshValue(key));
  }
}
// The same with getInto: each hit's value copied into one reused buffer instead of a new Uint8Array.
function kvSingleInto(kv, keys) {
  const target = new Uint8Array(VALUE_BYTES);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (kv.getInto(key, target) < 0) kv.set(key, freshValue(key));
  }
}
function kvBatched(kv, keys) {
  const values = new Uint8Array(BATCH * VALUE_BYTES);
  const missed = new Float64Array(BATCH);
  for (let at = 0; at < keys.length; at += BATCH) {
    const batch = keys.subarray(at, at + BATCH);
    const { lengths } = kv.getMany(batch, VALUE_BYTES);
    let misses = 0;
    for (let i = 0; i < batch.length; i++) {
      if (lengths[i] >= 0) continue;
      values[misses * VALUE_BYTES] = batch[i];
      missed[misses++] = batch[i];
    }
    if (misses > 0) kv.setMany(missed.subarray(0, misses), values, VALUE_BYTES);
  }
}
const opsPerSecond = (fn) => {
  const started = performance.now();
  fn();
  return OPS / ((performance.now() - started) / 1000);
};

const throughputRows = [];
for (const capacity of quick ? [100_000] : [100_000, 1_000_000]) {
  const keys = zipfKeys(OPS, capacity * 10, 0.99, capacity);
  const pool = await Pool.open({ store: new MemoryStore(), size: poolSizeFor(capacity, 3), create: true, device: 'eadr', backgroundFlushMs: 0 });
  const single = pool.kv('single', { capacity });
  const singleInto = pool.kv('single-into', { capacity });
  const batched = pool.kv('batched', { capacity });
  const lru = new LRUCache({ max: capacity });
  // Warm every cache with the same pass first, then alternate peers so drift hits both alike.
  lruSingle(lru, keys);
  kvSingle(single, keys);
  kvSingleInto(singleInto, keys);
  kvBatched(batched, keys);
  const runs = { 'lru-cache': [], 'wasm-pmem single': [], 'wasm-pmem single (getInto)': [], 'wasm-pmem batched': [] };
  for (let run = 0; run < 3; run++) {
    runs['lru-cache'].push(opsPerSecond(() => lruSingle(lru, keys)));
    runs['wasm-pmem single'].push(opsPerSecond(() => kvSingle(single, keys)));
    runs['wasm-pmem single (getInto)'].push(opsPerSecond(() => kvSingleInto(singleInto, keys)));
    runs['wasm-pmem batched'].push(opsPerSecond(() => kvBatched(batched, keys)));
  }
  const median = (list) => [...list].sort((a, b) => a - b)[1];
  const stats = single.stats();
  for (const [peer, list] of Object.entries(runs)) {
    throughputRows.push({ capacity, peer, 'ops/s': Math.round(median(list)), missRatio: peer === 'lru-cache' ? undefined : fmt(stats.misses / (stats.hits + stats.misses)) });
  }
  await pool.close();
}

console.table(throughputRows);
if (memoryRows.length) console.table(memoryRows);

const rate = (capacity, peer) => throughputRows.find((r) => r.capacity === capacity && r.peer === peer)?.['ops/s'];
const ratios = {
  meanMissRatio: { '1%': means['1%']['two-phase'], '10%': means['10%']['two-phase'] },
  worstAboveLru: worstOverLru,
  throughputVsLruCache: Object.fromEntries(
    [...new Set(throughputRows.map((r) => r.capacity))].map((c) => [
      c,
      {
        single: rate(c, 'wasm-pmem single') / rate(c, 'lru-cache'),
        singleInto: rate(c, 'wasm-pmem single (getInto)') / rate(c, 'lru-cache'),
        batched: rate(c, 'wasm-pmem batched') / rate(c, 'lru-cache'),
      },
    ]),
  ),
  bytesPerEntryVsLruCache: memoryRows.length ? Number(memoryRows[1]['bytes/entry']) / Number(memoryRows[0]['bytes/entry']) : undefined,
};
const met = (ok) => (ok ? 'met' : 'NOT met');
if (traces) {
  console.log(`target mean miss ratio at 10% <= 0.4827 (LIRS): ${met(ratios.meanMissRatio['10%'] <= 0.4827)} (${fmt(ratios.meanMissRatio['10%'])})`);
  console.log(`target mean miss ratio at 1% <= 0.7657 (ARC): ${met(ratios.meanMissRatio['1%'] <= 0.7657)} (${fmt(ratios.meanMissRatio['1%'])})`);
  console.log(
    `target never more than 0.005 above LRU: ${met(worstOverLru.by <= 0.005)} (worst ${fmt(worstOverLru.by)} on ${worstOverLru.trace} at ${worstOverLru.size})`,
  );
}
for (const [capacity, r] of Object.entries(ratios.throughputVsLruCache)) {
  console.log(
    `target ${capacity} entries: single >= 1.0x lru-cache: ${met(r.single >= 1)} (${r.single.toFixed(2)}; with getInto ${r.singleInto.toFixed(2)}); batched >= 2x: ${met(r.batched >= 2)} (${r.batched.toFixed(2)})`,
  );
}
if (ratios.bytesPerEntryVsLruCache !== undefined) {
  console.log(`target bytes per entry <= 0.5x lru-cache: ${met(ratios.bytesPerEntryVsLruCache <= 0.5)} (${ratios.bytesPerEntryVsLruCache.toFixed(2)})`);
}
console.log(JSON.stringify({ bench: 'cache', missRows: missRows.map(({ row }) => row), means, throughputRows, memoryRows, ratios }));
