// Transactions per second for three transaction shapes, in wasm-pmem (eadr in
// memory, adr on a file) beside lmdb and better-sqlite3 on the same disk.
// A durable transaction counts once it is synced to the disk. Every write stores
// bytes that differ from the ones before; the peers write the 8-byte counter
// without reading it, wasm-pmem's counter reads and writes it.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { open as openLmdb } from 'lmdb';
import { MemoryStore, Pool } from '../dist/host/api/index.js';

const POOL_SIZE = 64 << 20;
const RUNS = 3;
const CELL_MS = 1000;
const WARMUP_MS = 100;
const IN_FLIGHT = 64;
const MEMORY_STEP = 1000;
const FIELD_GAP = 4096;
const SHAPES = { counter: '8 B counter', fields: '2 x 64 B', block: '4 KiB' };

const keyOf = (n) => {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(n));
  return key;
};
const keys = { counter: keyOf(1), fieldA: keyOf(2), fieldB: keyOf(3), block: keyOf(4) };

// One set of values per in-flight slot: lmdb reads a put's value only when it commits.
const slots = Array.from({ length: IN_FLIGHT }, () => ({
  counter: Buffer.alloc(8),
  fieldA: Buffer.alloc(64, 2),
  fieldB: Buffer.alloc(64, 3),
  block: Buffer.alloc(4096, 4),
}));
const values = slots[0];
let sequence = 0;
/** `bytes` with its first byte changed: SQLite skips a rewrite of the bytes already stored. */
function fresh(bytes) {
  bytes[0] = ++sequence;
  return bytes;
}

const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
const perShape = (fn) => Object.fromEntries(Object.keys(SHAPES).map((shape) => [shape, fn(shape)]));

/** Runs `step` (which returns how many transactions it did) for at least `ms`. */
async function measure(step, ms, device) {
  const fencesBefore = device?.counters().fences;
  const started = performance.now();
  let txs = 0;
  let elapsed;
  do {
    txs += await step();
  } while ((elapsed = performance.now() - started) < ms);
  return { txPerS: txs / (elapsed / 1000), fencesPerTx: device && (device.counters().fences - fencesBefore) / txs };
}

/** The three transaction bodies over blocks allocated once. */
function pmemBodies(pool) {
  const at = pool.txSync((tx) => ({ counter: tx.alloc(8), fields: tx.alloc(FIELD_GAP + 64), block: tx.alloc(4096) }));
  return {
    counter: (tx) => tx.setU64(at.counter, tx.getU64(at.counter) + 1n),
    fields: (tx) => {
      tx.write(at.fields, fresh(values.fieldA));
      tx.write(at.fields + FIELD_GAP, fresh(values.fieldB));
    },
    block: (tx) => tx.write(at.block, fresh(values.block)),
  };
}

const dir = fileURLToPath(new URL('./out/', import.meta.url));
fs.mkdirSync(dir, { recursive: true });
const work = fs.mkdtempSync(join(dir, 'tx-'));
const rows = [];

try {
  const opening = { size: POOL_SIZE, create: true, backgroundFlushMs: 0 };
  const memoryPool = await Pool.open({ ...opening, store: new MemoryStore(), device: 'eadr' });
  const adrPool = await Pool.open({ ...opening, path: join(work, 'adr.pool'), device: 'adr' });
  const lmdb = openLmdb({ path: join(work, 'lmdb'), encoding: 'binary', keyEncoding: 'binary' });
  const sqlite = new Database(join(work, 'sqlite.db'));
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.exec('CREATE TABLE kv (k INTEGER PRIMARY KEY, v BLOB)');
    const upsert = sqlite.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
    const upsertFields = sqlite.transaction(() => {
      upsert.run(2, fresh(values.fieldA));
      upsert.run(3, fresh(values.fieldB));
    });
    const memoryBodies = pmemBodies(memoryPool);
    const adrBodies = pmemBodies(adrPool);

    const lmdbPuts = {
      counter: (slot) => [lmdb.put(keys.counter, fresh(slots[slot].counter))],
      fields: (slot) => [
        lmdb.put(keys.fieldA, fresh(slots[slot].fieldA)),
        lmdb.put(keys.fieldB, fresh(slots[slot].fieldB)),
      ],
      block: (slot) => [lmdb.put(keys.block, fresh(slots[slot].block))],
    };
    const lmdbPutSync = {
      counter: () => lmdb.putSync(keys.counter, fresh(values.counter)),
      fields: () =>
        lmdb.transactionSync(() => {
          lmdb.putSync(keys.fieldA, fresh(values.fieldA));
          lmdb.putSync(keys.fieldB, fresh(values.fieldB));
        }),
      block: () => lmdb.putSync(keys.block, fresh(values.block)),
    };
    const sqliteTx = {
      counter: () => upsert.run(1, fresh(values.counter)),
      fields: upsertFields,
      block: () => upsert.run(4, fresh(values.block)),
    };

    // An image save empties the adr pool's commit log, which would otherwise only grow.
    const emptyCommitLog = () => adrPool.checkpoint();
    const memoryCell = (log) => ({
      system: 'wasm-pmem',
      mode: `eadr memory, ${log}`,
      device: memoryPool.device,
      step: (shape) => () => {
        const options = { log };
        for (let i = 0; i < MEMORY_STEP; i++) memoryPool.txSync(memoryBodies[shape], options);
        return MEMORY_STEP;
      },
    });
    // Peers and ours alternate, so that drift in disk behaviour hits both alike.
    const cells = [
      memoryCell('redo'),
      memoryCell('undo'),
      {
        system: 'lmdb',
        mode: 'putSync',
        step: (shape) => () => {
          lmdbPutSync[shape]();
          return 1;
        },
      },
      {
        system: 'wasm-pmem',
        mode: 'adr file, one writer',
        step: (shape) => async () => {
          await adrPool.tx(adrBodies[shape]);
          return 1;
        },
        after: emptyCommitLog,
      },
      {
        system: 'better-sqlite3',
        mode: 'WAL, synchronous=FULL',
        step: (shape) => () => {
          sqliteTx[shape]();
          return 1;
        },
      },
      {
        system: 'lmdb',
        mode: `put, ${IN_FLIGHT} in flight`,
        step: (shape) => async () => {
          const puts = [];
          for (let slot = 0; slot < IN_FLIGHT; slot++) puts.push(...lmdbPuts[shape](slot));
          await Promise.all(puts);
          await lmdb.flushed; // puts resolve once committed; durable once flushed
          return IN_FLIGHT;
        },
      },
      {
        system: 'wasm-pmem',
        mode: `adr file, ${IN_FLIGHT} in flight`,
        step: (shape) => async () => {
          const txs = [];
          for (let i = 0; i < IN_FLIGHT; i++) txs.push(adrPool.tx(adrBodies[shape]));
          await Promise.all(txs);
          return IN_FLIGHT;
        },
        after: emptyCommitLog,
      },
    ];

    for (const cell of cells) cell.runs = perShape(() => []);
    for (let run = -1; run < RUNS; run++) {
      for (const shape of Object.keys(SHAPES)) {
        for (const cell of cells) {
          const measured = await measure(cell.step(shape), run < 0 ? WARMUP_MS : CELL_MS, cell.device);
          if (run >= 0) cell.runs[shape].push(measured);
          await cell.after?.();
        }
      }
    }
    for (const { system, mode, device, runs } of cells) {
      const pick = (field) => perShape((shape) => median(runs[shape].map((measured) => measured[field])));
      rows.push({ system, mode, txPerS: pick('txPerS'), ...(device && { fencesPerTx: pick('fencesPerTx') }) });
    }
  } finally {
    sqlite.close();
    await lmdb.close();
    await adrPool.close();
    await memoryPool.close();
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

console.table(
  rows.map((row) => ({
    system: row.system,
    mode: row.mode,
    ...Object.fromEntries(Object.entries(SHAPES).map(([s, label]) => [`${label} tx/s`, Math.round(row.txPerS[s])])),
    'fences/tx': row.fencesPerTx ? Object.keys(SHAPES).map((s) => row.fencesPerTx[s].toFixed(2)).join(' / ') : '',
  })),
);

const row = (system, mode) => rows.find((r) => r.system === system && r.mode === mode);
const memoryRedo = row('wasm-pmem', 'eadr memory, redo');
const adrOne = row('wasm-pmem', 'adr file, one writer').txPerS;
const adrMany = row('wasm-pmem', `adr file, ${IN_FLIGHT} in flight`).txPerS;
const lmdbSync = row('lmdb', 'putSync').txPerS;
const lmdbBatched = row('lmdb', `put, ${IN_FLIGHT} in flight`).txPerS;
const ratios = {
  memoryFieldsRedoTxPerS: memoryRedo.txPerS.fields,
  memoryFieldsRedoFencesPerTx: memoryRedo.fencesPerTx.fields,
  adrOneWriterVsLmdbPutSync: perShape((s) => adrOne[s] / lmdbSync[s]),
  adrInFlightCommitsPerS: adrMany,
  adrInFlightVsLmdbBatched: perShape((s) => adrMany[s] / lmdbBatched[s]),
};

const met = (ok) => (ok ? 'met' : 'NOT met');
console.log(
  `target memory 2 x 64 B redo >= 1.1 M tx/s: ${met(ratios.memoryFieldsRedoTxPerS >= 1.1e6)} ` +
    `(${(ratios.memoryFieldsRedoTxPerS / 1e6).toFixed(3)} M)`,
);
console.log(
  `target memory 2 x 64 B redo fences/tx = 1: ${met(ratios.memoryFieldsRedoFencesPerTx === 1)} ` +
    `(${ratios.memoryFieldsRedoFencesPerTx})`,
);
for (const [shape, label] of Object.entries(SHAPES)) {
  const vsSync = ratios.adrOneWriterVsLmdbPutSync[shape];
  const commits = ratios.adrInFlightCommitsPerS[shape];
  const vsBatched = ratios.adrInFlightVsLmdbBatched[shape];
  const many = `adr ${IN_FLIGHT} in flight`;
  console.log(`target ${label}: adr one writer vs lmdb putSync >= 1.0: ${met(vsSync >= 1)} (${vsSync.toFixed(2)})`);
  console.log(`target ${label}: ${many} >= 100 k commits/s: ${met(commits >= 1e5)} (${(commits / 1e3).toFixed(1)} k)`);
  console.log(`target ${label}: ${many} vs lmdb batched >= 1.0: ${met(vsBatched >= 1)} (${vsBatched.toFixed(2)})`);
}
console.log(JSON.stringify({ bench: 'tx', inFlight: IN_FLIGHT, rows, ratios }));
