// The backing store: round trips, incremental saves, and damaged or foreign
// files, which must fail with a typed error and never be overwritten.
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore, PmemError, Pool } from '../host/api/index.js';
import { utilityChecksummer } from '../host/core/core-checksummer.js';
import { checkPool } from '../host/runtime/check.js';
import { HEADER_SIZE, layoutFor, sealHeader } from '../host/store/image-format.js';
import { MiB, patternBytes, tempDir } from './helpers.js';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function expectOpenError(options: Parameters<typeof Pool.open>[0], code: string) {
  const error = await Pool.open({ backgroundFlushMs: 0, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(PmemError);
  expect((error as PmemError).code).toBe(code);
  return error as PmemError;
}

/** A pool in memory with two saved generations: `first` in the older slot, `second` in the newest. */
async function twoGenerations(size = 2 * MiB) {
  const store = new MemoryStore();
  const pool = await Pool.open({ store, size, create: true, backgroundFlushMs: 0 });
  const dataOffset = pool.dataOffset;
  const first = patternBytes(pool.dataSize, 1);
  const second = patternBytes(pool.dataSize, 2);
  pool.write(dataOffset, first);
  await pool.checkpoint();
  await pool.checkpoint();
  pool.write(dataOffset, second);
  await pool.checkpoint();
  const { slots } = pool.info();
  const newest = slots[0].generation > slots[1].generation ? 0 : 1;
  return { store, pool, dataOffset, first, second, newest, layout: layoutFor(size / 4096, 4096) };
}

describe('image store', () => {
  const dir = tempDir();

  it('round trips a 256 MiB pool through a file', async () => {
    const path = join(dir, 'big.pool');
    const pool = await Pool.open({ path, size: 256 * MiB, create: true, backgroundFlushMs: 0 });
    const block = patternBytes(16 * MiB, 3);
    const blocks: number[] = [];
    for (let offset = pool.dataOffset; offset < pool.size; offset += block.length) {
      const n = Math.min(block.length, pool.size - offset);
      block[0] = blocks.length; // every block differs
      pool.write(offset, block.subarray(0, n), { persist: false });
      blocks.push(offset);
    }
    const expected = pool.read(pool.dataOffset, pool.dataSize);
    await pool.close();
    const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
    expect(reopened.lastRestore?.cleanShutdown).toBe(true);
    expect(Buffer.compare(reopened.read(reopened.dataOffset, reopened.dataSize), expected)).toBe(0);
    await reopened.close();
  });

  it('saves only the pages that changed', async () => {
    const { pool, dataOffset } = await twoGenerations();
    await pool.checkpoint(); // both slots now equal the pool
    pool.write(dataOffset + 3 * 4096, new Uint8Array([1, 2, 3]));
    pool.write(dataOffset + 9 * 4096 + 4094, new Uint8Array([4, 5, 6, 7])); // straddles two pages
    const report = await pool.checkpoint();
    expect(report.complete).toBe(true);
    expect(report.savedBytes).toBe(3 * 4096);
    const full = await pool.checkpoint({ full: true });
    expect(full.savedBytes).toBe(pool.size);
  });

  it('detects every single-bit flip of the file header, and never modifies the file', async () => {
    const { store } = await twoGenerations(MiB);
    const file = store.bytes!;
    const reference = file.slice();
    const codes = new Set<string>();
    for (let bit = 0; bit < HEADER_SIZE * 8; bit++) {
      const flip = (bytes: Uint8Array) => (bytes[bit >> 3] ^= 1 << (bit & 7));
      flip(file);
      flip(reference);
      const error = await Pool.open({ store, backgroundFlushMs: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `bit ${bit}`).toBeInstanceOf(PmemError);
      codes.add((error as PmemError).code);
      expect(Buffer.compare(file.subarray(0, HEADER_SIZE), reference.subarray(0, HEADER_SIZE)), `bit ${bit}`).toBe(0);
      flip(file);
      flip(reference);
    }
    expect(Buffer.compare(file, reference)).toBe(0); // no open wrote anywhere in the file
    expect([...codes].sort()).toEqual(['ECORRUPT', 'EFOREIGN']);
  });

  it('survives any single-bit flip of a slot record copy and reports it', async () => {
    const { store, newest, layout, second } = await twoGenerations(MiB);
    const file = store.bytes!;
    // Stepping by 5 bits (coprime to 8) damages every byte position of the record, in every copy.
    for (let bit = 0; bit < 512 * 8; bit += 5) {
      const copy = bit % 8;
      const at = layout.recordOffset[newest] + copy * 512 + (bit >> 3);
      file[at] ^= 1 << (bit & 7);
      const pool = await Pool.open({ store, backgroundFlushMs: 0 });
      expect(Buffer.compare(pool.read(pool.dataOffset, second.length), second), `bit ${bit}`).toBe(0);
      expect(pool.info().slots[newest].damagedCopies).toBe(1);
      file[at] ^= 1 << (bit & 7);
    }
  });

  it('detects bit flips at sampled page positions of the newest image', async () => {
    const seed = 20261121;
    const random = (() => {
      let s = seed;
      return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    })();
    const { store, newest, layout } = await twoGenerations(MiB);
    const file = store.bytes!;
    const pages = 256;
    for (let sample = 0; sample < 200; sample++) {
      const page = sample < 20 ? 0 : Math.floor(random() * pages); // page 0 holds the pool header
      const bit = Math.floor(random() * 4096 * 8);
      const at = layout.dataOffset[newest] + page * 4096 + (bit >> 3);
      file[at] ^= 1 << (bit & 7);
      const error = await expectOpenError({ store }, 'ECORRUPT');
      expect(error.details.page, `seed ${seed} sample ${sample}`).toBe(page);
      file[at] ^= 1 << (bit & 7);
    }
  });

  it('treats a damaged manifest of the newest image as an error, not a reason to load older data', async () => {
    const { store, newest, layout } = await twoGenerations(MiB);
    store.bytes![layout.manifestOffset[newest] + 17] ^= 4;
    await expectOpenError({ store }, 'ECORRUPT');
  });

  it('opens despite damage in the older image, which check reports', async () => {
    const { store, newest, layout, second } = await twoGenerations(MiB);
    store.bytes![layout.dataOffset[1 - newest] + 5 * 4096 + 100] ^= 0x10;
    const check = await checkPool(store);
    expect(check.valid).toBe(false);
    expect(check.errors[0]).toMatchObject({ code: 'ECORRUPT', slot: 1 - newest, page: 5 });
    const pool = await Pool.open({ store, backgroundFlushMs: 0 });
    expect(Buffer.compare(pool.read(pool.dataOffset, second.length), second)).toBe(0);
  });

  it('rejects truncated, foreign and newer-format files with typed errors and leaves them untouched', async () => {
    const path = join(dir, 'p.pool');
    const pool = await Pool.open({ path, size: MiB, create: true, backgroundFlushMs: 0 });
    await pool.close();
    const good = readFileSync(path);
    const cases: Array<[string, (p: string) => void]> = [
      ['ETRUNCATED', (p) => truncateSync(p, good.length - 1)],
      ['ETRUNCATED', (p) => truncateSync(p, 4000)],
      ['ETRUNCATED', (p) => truncateSync(p, 0)],
      ['EFOREIGN', (p) => writeFileSync(p, 'just some text file, not a pool\n'.repeat(400))],
      ['EFOREIGN', (p) => writeFileSync(p, patternBytes(good.length, 9))],
    ];
    for (const [code, damage] of cases) {
      writeFileSync(path, good);
      damage(path);
      const before = sha(path);
      await expectOpenError({ path }, code);
      await expectOpenError({ path, create: true, size: MiB }, code);
      expect(sha(path)).toBe(before);
    }
    // A file from a newer format version, with a valid header checksum.
    const checksummer = await utilityChecksummer();
    const newer = new Uint8Array(good);
    new DataView(newer.buffer).setUint32(8, 2, true);
    sealHeader(newer.subarray(0, HEADER_SIZE), checksummer);
    writeFileSync(path, newer);
    const error = await expectOpenError({ path }, 'ENEWERFORMAT');
    expect(error.details).toMatchObject({ version: 2, supported: 1 });
  });
});

describe('incremental saves (delta segments)', () => {
  async function deltaPool() {
    const store = new MemoryStore();
    const pool = await Pool.open({ store, size: 4 * MiB, create: true, backgroundFlushMs: 0 });
    const layout = layoutFor(1024, 4096);
    return { store, pool, layout };
  }

  it('append small saves as segments and load them in order over the base', async () => {
    const { store, pool } = await deltaPool();
    const writes: Array<[number, Uint8Array]> = [];
    for (let i = 0; i < 6; i++) {
      const at = pool.dataOffset + ((i * 37) % 200) * 4096 + i;
      const bytes = patternBytes(3000, 100 + i);
      pool.write(at, bytes);
      writes.push([at, bytes]);
      const report = await pool.checkpoint();
      expect(report, `save ${i}`).toMatchObject({ complete: true, kind: 'delta' });
    }
    const expected = pool.read(pool.dataOffset, pool.dataSize);
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 }); // no clean shutdown: the segments must carry it
    expect(Buffer.compare(reopened.read(reopened.dataOffset, reopened.dataSize), expected)).toBe(0);
  });

  it('falls back to a full save when the delta area cannot take the pages', async () => {
    const { pool, layout } = await deltaPool();
    pool.write(pool.dataOffset, patternBytes(layout.deltaBytes, 5));
    expect(await pool.checkpoint()).toMatchObject({ complete: true, kind: 'full' });
  });

  it('drops a last segment that a crash cut short, and loads the image before it', async () => {
    const { store, pool, layout } = await deltaPool();
    pool.write(pool.dataOffset, patternBytes(5000, 1));
    await pool.checkpoint();
    const committed = pool.read(pool.dataOffset, pool.dataSize);
    const generation = pool.info().generation;
    pool.write(pool.dataOffset, patternBytes(5000, 2));
    expect(await pool.checkpoint()).toMatchObject({ complete: true, kind: 'delta', generation: generation + 1 });
    // Tear the newest segment's last page, as a power cut during its write would (it was never acknowledged).
    const bytes = store.bytes!;
    const end = bytes.findLastIndex((b, i) => i >= layout.deltaOffset && b !== 0);
    bytes[end] ^= 0xff;
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 });
    expect(Buffer.compare(reopened.read(reopened.dataOffset, reopened.dataSize), committed)).toBe(0);
    expect(reopened.info().generation).toBe(generation);
    reopened.write(reopened.dataOffset, patternBytes(10, 3));
    expect(await reopened.checkpoint()).toMatchObject({ complete: true, kind: 'delta', generation: generation + 1 });
    await reopened.close();
    const again = await Pool.open({ store, backgroundFlushMs: 0 });
    expect(again.read(again.dataOffset, 10)).toEqual(patternBytes(10, 3));
  });

  it('refuses to fall back to the older image when every copy of the newest record is destroyed', async () => {
    const { store, pool, layout } = await deltaPool();
    pool.write(pool.dataOffset, patternBytes(5000, 1));
    await pool.checkpoint({ full: true });
    pool.write(pool.dataOffset, patternBytes(5000, 2));
    expect(await pool.checkpoint()).toMatchObject({ kind: 'delta' });
    const newest = pool.info().slots.findIndex((s) => s.state === 'complete' && s.generation === pool.info().generation - 1);
    store.bytes!.fill(0xee, layout.recordOffset[newest], layout.recordOffset[newest] + 4096);
    const error = await expectOpenError({ store }, 'ECORRUPT');
    expect(error.details).toMatchObject({ where: 'record' });
  });

  it('refuses to load when an acknowledged segment is damaged', async () => {
    const { store, pool, layout } = await deltaPool();
    for (let i = 0; i < 3; i++) {
      pool.write(pool.dataOffset + i * 8192, patternBytes(100, i));
      await pool.checkpoint();
    }
    const bytes = store.bytes!;
    // The first segment's index, then one of its pages: later segments (and the record) show it was acknowledged.
    for (const at of [layout.deltaOffset + 30, layout.deltaOffset + 4096 + 77]) {
      bytes[at] ^= 0x08;
      const error = await expectOpenError({ store }, 'ECORRUPT');
      expect(error.details).toMatchObject({ where: 'segment', segment: 1 });
      bytes[at] ^= 0x08;
    }
    await Pool.open({ store, backgroundFlushMs: 0 });
  });
});
