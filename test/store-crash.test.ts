// Power cuts in the middle of saves: with the memory store's power-loss model,
// only synced writes are sure to be on disk, and any of the others may have
// reached it, each torn at 512-byte sectors. A crash image taken at every write
// and sync of a long run of incremental and full saves must open, and hold the
// image of the last acknowledged save, or of the save in progress.
import { expect, it } from 'vitest';
import { MemoryStore, Pool } from '../host/api/index.js';
import { seededRandom } from '../host/device/prng.js';
import { MiB, patternBytes } from './helpers.js';

const SEED = Number(process.env.STORE_CRASH_SEED ?? 77);
const SAVES = 100;
const IMAGES_PER_SAVE = 8; // sampled among the save's writes and syncs

it(`recovers the last acknowledged save from a power cut at any write or sync (seed ${SEED})`, async () => {
  const store = new MemoryStore();
  const pool = await Pool.open({ store, size: 4 * MiB, create: true, device: 'nvdimm-n', backgroundFlushMs: 0 });
  const random = seededRandom(SEED);
  const dataOf = (p: Pool) => p.read(p.dataOffset, p.dataSize);
  const acknowledged = [dataOf(pool)];
  store.modelPowerLoss();
  let crashes: Array<{ store: MemoryStore; save: number }> = [];
  store.onIo = () => {
    if (crashes.length >= IMAGES_PER_SAVE || random() > 0.6) return;
    crashes.push({ store: store.crashStore(Math.floor(random() * 2 ** 31)), save: acknowledged.length - 1 });
  };
  const kinds = new Set<string>();
  let examined = 0;
  for (let save = 0; save < SAVES; save++) {
    // Mostly a few pages (delta segments); sometimes most of the pool, or a forced full save.
    const pages = random() < 0.15 ? 600 : 1 + Math.floor(random() * 12);
    for (let i = 0; i < pages; i++) {
      const at = pool.dataOffset + Math.floor(random() * (pool.dataSize / 4096 - 1)) * 4096;
      pool.write(at, patternBytes(64, save * 1000 + i), { persist: false });
    }
    const report = await pool.checkpoint({ full: random() < 0.1 });
    expect(report.complete).toBe(true);
    kinds.add(report.kind);
    acknowledged.push(dataOf(pool));
    for (const crash of crashes) {
      const recovered = await Pool.open({ store: crash.store, backgroundFlushMs: 0 });
      const data = dataOf(recovered);
      const matches = [crash.save, crash.save + 1].filter((k) => Buffer.compare(data, acknowledged[k]) === 0);
      expect(matches, `seed ${SEED}, crash during save ${crash.save + 1}`).not.toEqual([]);
      examined++;
    }
    crashes = [];
  }
  expect([...kinds].sort()).toEqual(['delta', 'full']);
  expect(examined).toBeGreaterThan(250);
});

// The same power cuts on a durable adr pool, whose commits reach the disk through the
// commit log: each transaction rewrites a counter and a 4 KiB block derived from it (so
// records span many sectors and can tear), and checkpoints now and then start the log
// over. A crash store taken at any log or image write or sync must open with every
// transaction acknowledged before the cut, and nothing partial.
it(`keeps every acknowledged adr commit across power cuts in the commit log (seed ${SEED})`, async () => {
  const store = new MemoryStore();
  const pool = await Pool.open({ store, size: 4 * MiB, create: true, device: 'adr', backgroundFlushMs: 0 });
  const random = seededRandom(SEED + 1);
  const block = pool.txSync((tx) => {
    const at = tx.alloc(8 + 4096);
    tx.root = at;
    return at;
  });
  store.modelPowerLoss();
  let acknowledged = 0;
  let crashes: Array<{ store: MemoryStore; acknowledged: number }> = [];
  store.onIo = () => {
    if (random() < 0.3) crashes.push({ store: store.crashStore(Math.floor(random() * 2 ** 31)), acknowledged });
  };
  let examined = 0;
  for (let n = 1; n <= 150; n++) {
    pool.txSync((tx) => {
      tx.setU64(block, BigInt(n));
      tx.write(block + 8, patternBytes(4096, n));
    });
    acknowledged = n;
    if (random() < 0.05) await pool.checkpoint();
    for (const crash of crashes) {
      const recovered = await Pool.open({ store: crash.store, backgroundFlushMs: 0 });
      const context = `seed ${SEED}, crash after ${crash.acknowledged} acknowledged commits`;
      const [counter, bytes] = recovered.txSync((tx) => [Number(tx.getU64(tx.root)), tx.read(tx.root + 8, 4096)] as const);
      expect(counter, context).toBeGreaterThanOrEqual(crash.acknowledged);
      expect(counter, context).toBeLessThanOrEqual(crash.acknowledged + 1);
      expect(Buffer.compare(bytes, patternBytes(4096, counter)), context).toBe(0);
      await recovered.close();
      examined++;
    }
    crashes = [];
  }
  expect(examined).toBeGreaterThan(100);
});
