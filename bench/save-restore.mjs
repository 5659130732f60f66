// Save/restore throughput of a 1 GiB pool against plain file I/O on the same disk.
// Reads (raw and restore) may be served from the page cache: the files were just written.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from '../dist/host/api/index.js';

const GiB = 1 << 30;
const CHUNK = 16 << 20;
const PAGE = 4096;
const RUNS = 5;
const DIRTY_FRACTION = 0.01;

function xorshift32(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const block = new Uint8Array(CHUNK);
{
  const words = new Uint32Array(block.buffer);
  const next = xorshift32(0x9e3779b9);
  for (let i = 0; i < words.length; i++) words[i] = next();
}
const blockHead = new DataView(block.buffer, 0, 8);

/** The shared 16 MiB block, made distinct per chunk index by its first 8 bytes. */
function chunkBytes(index) {
  blockHead.setBigUint64(0, BigInt(index) * 0x9e3779b97f4a7c15n, true); // wraps modulo 2^64
  return block;
}

function timed(fn) {
  const started = performance.now();
  const result = fn();
  return result instanceof Promise
    ? result.then((value) => ({ ms: performance.now() - started, value }))
    : { ms: performance.now() - started, value: result };
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Writes 1 GiB and fsyncs it: into a new file, or over the existing one in place (as a pool save does). */
function rawWriteFsync(path, { inPlace }) {
  if (!inPlace) fs.rmSync(path, { force: true });
  const fd = fs.openSync(path, inPlace ? 'r+' : 'w');
  try {
    for (let offset = 0, i = 0; offset < GiB; offset += CHUNK, i++) {
      const bytes = chunkBytes(i);
      for (let done = 0; done < CHUNK; ) done += fs.writeSync(fd, bytes, done, CHUNK - done, offset + done);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function rawRead(path) {
  const fd = fs.openSync(path, 'r');
  try {
    const into = Buffer.allocUnsafe(GiB);
    for (let offset = 0; offset < GiB; ) {
      const n = fs.readSync(fd, into, offset, Math.min(CHUNK, GiB - offset), offset);
      if (n === 0) throw new Error(`${path} is shorter than 1 GiB`);
      offset += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function fillPool(pool) {
  for (let offset = pool.dataOffset, i = 0; offset < pool.size; offset += CHUNK, i++) {
    pool.write(offset, chunkBytes(i).subarray(0, Math.min(CHUNK, pool.size - offset)), { persist: false });
  }
}

/** Dirties `count` distinct data pages chosen by a seeded generator. */
function dirtyPages(pool, count, seed) {
  const next = xorshift32(seed);
  const firstPage = Math.ceil(pool.dataOffset / PAGE);
  const dataPages = pool.size / PAGE - firstPage;
  const pages = new Set();
  while (pages.size < count) pages.add(firstPage + (next() % dataPages));
  const stamp = new Uint8Array(8);
  new DataView(stamp.buffer).setUint32(0, seed, true);
  for (const page of pages) pool.write(page * PAGE, stamp, { persist: false });
}

const dir = fileURLToPath(new URL('./out/', import.meta.url));
fs.mkdirSync(dir, { recursive: true });
const work = fs.mkdtempSync(join(dir, 'save-restore-'));
const rawPath = join(work, 'raw.bin');
const poolPath = join(work, 'bench.pool');
const ms = { rawWrite: [], rawOverwrite: [], fullSave: [], rawRead: [], restore: [], incremental: [] };
let fullSavedBytes = 0;
let incrementalSavedBytes = 0;

try {
  let pool = await Pool.open({ path: poolPath, size: GiB, create: true, device: 'nvdimm-n', backgroundFlushMs: 0 });
  fillPool(pool);

  // Peer and ours alternate so that drift in disk or cache behaviour hits both alike.
  for (let run = 0; run < RUNS; run++) {
    ms.rawWrite.push(timed(() => rawWriteFsync(rawPath, { inPlace: false })).ms);
    ms.rawOverwrite.push(timed(() => rawWriteFsync(rawPath, { inPlace: true })).ms);
    const save = await timed(() => pool.checkpoint({ full: true }));
    ms.fullSave.push(save.ms);
    fullSavedBytes = save.value.savedBytes;
  }
  await pool.close();

  for (let run = 0; run < RUNS; run++) {
    ms.rawRead.push(timed(() => rawRead(rawPath)).ms);
    const open = await timed(() => Pool.open({ path: poolPath, backgroundFlushMs: 0 }));
    ms.restore.push(open.ms);
    await open.value.close();
  }

  pool = await Pool.open({ path: poolPath, backgroundFlushMs: 0 });
  await pool.checkpoint({ full: true });
  const dirtyCount = Math.floor((pool.size / PAGE) * DIRTY_FRACTION);
  for (let run = 0; run < RUNS; run++) {
    // Bring the other slot up to date, so that the timed save targets a slot missing only the new pages.
    await pool.checkpoint();
    dirtyPages(pool, dirtyCount, 1000 + run);
    const save = await timed(() => pool.checkpoint());
    ms.incremental.push(save.ms);
    incrementalSavedBytes = save.value.savedBytes;
  }
  await pool.close();
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const rows = [
  ['raw write+fsync (new file)', ms.rawWrite, GiB],
  ['raw overwrite+fsync (in place)', ms.rawOverwrite, GiB],
  ['wasm-pmem full save', ms.fullSave, fullSavedBytes],
  ['raw read', ms.rawRead, GiB],
  ['wasm-pmem restore (open)', ms.restore, GiB],
  ['wasm-pmem incremental save (1% dirty)', ms.incremental, incrementalSavedBytes],
];
console.table(
  rows.map(([name, runs, bytes]) => ({
    measurement: name,
    'median ms': Number(median(runs).toFixed(1)),
    'GiB/s': Number((bytes / GiB / (median(runs) / 1000)).toFixed(3)),
    'MiB moved': Number((bytes / (1 << 20)).toFixed(1)),
    runs: runs.map((t) => t.toFixed(0)).join(' / '),
  })),
);

const result = {
  bench: 'save-restore',
  poolBytes: GiB,
  rawWriteFsyncMs: median(ms.rawWrite),
  fullSaveMs: median(ms.fullSave),
  saveRatio: median(ms.rawWrite) / median(ms.fullSave),
  rawReadMs: median(ms.rawRead),
  restoreMs: median(ms.restore),
  restoreRatio: median(ms.rawRead) / median(ms.restore),
  incrementalSaveMs: median(ms.incremental),
  incrementalFraction: median(ms.incremental) / median(ms.fullSave),
  incrementalSavedBytes,
  rawOverwriteFsyncMs: median(ms.rawOverwrite),
};
const met = (ok) => (ok ? 'met' : 'NOT met');
console.log(`target saveRatio >= 0.8: ${met(result.saveRatio >= 0.8)} (${result.saveRatio.toFixed(3)})`);
console.log(
  `target incremental (1% dirty) <= 5% of full save: ${met(result.incrementalFraction <= 0.05)} ` +
    `(${(result.incrementalFraction * 100).toFixed(2)}%)`,
);
console.log(JSON.stringify(result));
