// The persistent cache: its API, typed errors, the policy's scan resistance
// and store-free hot hits, and a warm reopen.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KV_MAX_KEY_BYTES, KV_MAX_VALUE_BYTES, MemoryStore, Pool } from '../host/api/index.js';
import { seededRandom } from '../host/device/prng.js';
import { MiB, codeOf, patternBytes, tempDir } from './helpers.js';

const memoryPool = (size = 16 * MiB, device: 'eadr' | 'adr' | 'nvdimm-n' = 'eadr') =>
  Pool.open({ store: new MemoryStore(), size, create: true, device, backgroundFlushMs: 0 });

describe('persistent cache', () => {
  it('stores integer, string and byte keys with byte and string values', async () => {
    for (const device of ['adr', 'eadr', 'nvdimm-n'] as const) {
      const pool = await memoryPool(16 * MiB, device);
      const kv = pool.kv('things', { capacity: 100 });
      kv.set(7, patternBytes(40, 7));
      kv.set('name', 'wasm-pmem');
      kv.set(new Uint8Array([0, 1, 2]), new Uint8Array([9, 9]));
      kv.set('empty', '');
      expect(kv.get('empty')).toEqual(new Uint8Array(0));
      expect(kv.get(7)).toEqual(patternBytes(40, 7));
      expect(kv.getString('name')).toBe('wasm-pmem');
      expect(kv.get(new Uint8Array([0, 1, 2]))).toEqual(new Uint8Array([9, 9]));
      expect(kv.get(8)).toBeUndefined();
      expect(kv.get('nam')).toBeUndefined();
      kv.set('name', 'replaced');
      expect(kv.getString('name')).toBe('replaced');
      expect(kv.has(7)).toBe(true);
      expect(kv.delete(7)).toBe(true);
      expect(kv.delete(7)).toBe(false);
      expect(kv.has(7)).toBe(false);
      kv.check();
      expect(pool.kv('things')).toBe(kv);
      await pool.close();
      for (const action of [() => kv.get(1), () => kv.set(1, 'x'), () => kv.stats(), () => kv.evict, () => kv.entries()]) {
        expect(codeOf(action)).toBe('ECLOSED');
      }
    }
  });

  it('getInto copies a value into the buffer given, as much as fits, and counts like get', async () => {
    const pool = await memoryPool();
    const kv = pool.kv('into', { capacity: 10 });
    const long = patternBytes(200, 3);
    kv.set(1, long);
    kv.set('short', 'abc');
    const target = new Uint8Array(100).fill(9);
    expect(kv.getInto(1, target)).toBe(200);
    expect(target).toEqual(long.subarray(0, 100));
    target.fill(9);
    expect(kv.getInto('short', target)).toBe(3);
    expect(Array.from(target.subarray(0, 4))).toEqual([97, 98, 99, 9]);
    expect(kv.getInto(2, target)).toBe(-1);
    expect(kv.stats()).toMatchObject({ hits: 2, misses: 1 });
    expect(codeOf(() => kv.getInto(1, [] as unknown as Uint8Array))).toBe('EINVAL');
    await pool.close();
  });

  it('gives typed errors for bad keys, values, names and options, and changes nothing', async () => {
    const pool = await memoryPool();
    const kv = pool.kv('c', { capacity: 10 });
    kv.set(1, 'one');
    const before = kv.entries();
    const lastCommit = pool.lastCommitId;
    const cases: Array<[string, () => unknown]> = [
      ['EINVAL', () => kv.set(-1, 'x')],
      ['EINVAL', () => kv.set(1.5, 'x')],
      ['EINVAL', () => kv.set(2 ** 53, 'x')],
      ['EINVAL', () => kv.get(Number.NaN)],
      ['EINVAL', () => kv.set({} as unknown as string, 'x')],
      ['EINVAL', () => kv.set('', 'x')],
      ['EINVAL', () => kv.set(2, 5 as unknown as string)],
      ['E2BIG', () => kv.set('k'.repeat(KV_MAX_KEY_BYTES + 1), 'x')],
      ['E2BIG', () => kv.set(new Uint8Array(KV_MAX_KEY_BYTES + 1), 'x')],
      ['E2BIG', () => kv.set(2, new Uint8Array(KV_MAX_VALUE_BYTES + 1))],
      ['E2BIG', () => pool.kv('n'.repeat(65), { capacity: 10 })],
      ['EINVAL', () => pool.kv('c', { capacity: 11 })],
      ['EINVAL', () => pool.kv('c', { evict: 'none' })],
      ['EINVAL', () => pool.kv('other')],
      ['EINVAL', () => pool.kv('other', { capacity: 1 })],
      ['EINVAL', () => pool.kv('other', { capacity: 10, evict: 'lru' as 'none' })],
      ['EINVAL', () => pool.kv('other', { capacity: 10, maxCapacity: 20 })], // an evicting cache does not grow
      ['EINVAL', () => pool.kv('other', { capacity: 10, maxCapacity: 5, evict: 'none' })],
      ['EINVAL', () => pool.kv('other', { capacity: 2, maxCapacity: 2 ** 17, evict: 'none' })], // 16 doublings
      ['EINVAL', () => pool.kv('other', { capacity: 10, maxCapacity: 20.5, evict: 'none' })],
      ['EINVAL', () => pool.kv('other', { capacity: 10, maxCapacity: 20, evict: 'none', rehash: 'lazy' as 'incremental' })],
      ['EINVAL', () => pool.kv('other', { capacity: 10, evict: 'none', rehash: 'stop-the-world' })], // it does not grow
      ['EINVAL', () => pool.kv('c', { maxCapacity: 40 })],
      ['EINVAL', () => pool.kv('c', { rehash: 'stop-the-world' })],
      ['EINVAL', () => pool.kv('other', { capacity: 10, hashSeed: 0 })],
      ['EINVAL', () => pool.kv('other', { capacity: 10, hashSeed: 2 ** 32 })],
      ['EINVAL', () => kv.getMany([1, -2])],
      ['EINVAL', () => kv.setMany([1], new Uint8Array(4), 8)],
    ];
    for (const [code, action] of cases) expect(codeOf(action), String(action)).toBe(code);
    expect(kv.get(KV_MAX_VALUE_BYTES)).toBeUndefined();
    kv.set(3, new Uint8Array(KV_MAX_VALUE_BYTES)); // the maximum itself is fine
    kv.set('k'.repeat(KV_MAX_KEY_BYTES), 'longest key');
    expect(kv.getString('k'.repeat(KV_MAX_KEY_BYTES))).toBe('longest key');
    expect(pool.lastCommitId).toBe(lastCommit + 2n);
    expect(kv.entries().filter((e) => e.key === 1n)).toEqual(before);
    kv.check();
    await pool.close();
  });

  it("a cache that does not evict fails with EFULL when full, and a full heap gives ENOSPC; both leave it valid", async () => {
    const pool = await memoryPool();
    const kv = pool.kv('fixed', { capacity: 4, evict: 'none' });
    for (let i = 0; i < 4; i++) kv.set(i, `v${i}`);
    expect(codeOf(() => kv.set(4, 'v4'))).toBe('EFULL');
    kv.set(0, 'replaced'); // replacing needs no room
    expect(kv.delete(1)).toBe(true);
    kv.set(4, 'v4');
    expect(kv.stats()).toMatchObject({ cold: 4, hot: 0, ghost: 0, evictions: 0 });
    kv.check();

    const small = await memoryPool(2 * MiB);
    const big = small.kv('big', { capacity: 1000 });
    let failure: string | undefined;
    for (let i = 0; i < 1000 && !failure; i++) failure = codeOf(() => big.set(i, new Uint8Array(KV_MAX_VALUE_BYTES)));
    expect(failure).toBe('ENOSPC');
    big.check();
    expect(big.stats().cold).toBeGreaterThan(0);
    await pool.close();
    await small.close();
  });

  it('a set that evicts and then finds no room for its value commits its evictions and loses no record', async () => {
    const pool = await memoryPool(2 * MiB);
    const small = pool.kv('small', { capacity: 4 });
    for (let i = 0; i < 4; i++) small.set(i, `v${i}`);
    const big = pool.kv('big', { capacity: 1000 });
    let failure: string | undefined;
    for (let i = 0; i < 1000 && !failure; i++) failure = codeOf(() => big.set(i, new Uint8Array(KV_MAX_VALUE_BYTES)));
    expect(failure).toBe('ENOSPC');
    // Evicts the oldest entry (its record freed), then finds no block for the large value.
    expect(codeOf(() => small.set(100, new Uint8Array(KV_MAX_VALUE_BYTES)))).toBe('ENOSPC');
    small.check();
    expect(small.stats()).toMatchObject({ cold: 3, evictions: 1 });
    // Every record is found again: sets past the capacity evict rather than run out of records.
    for (let i = 4; i < 24; i++) small.set(i, 'x');
    small.check();
    expect(small.stats().cold + small.stats().hot).toBe(4);
    await pool.close();
  });

  it('keeps a value of at most 16 bytes with its key bytes in the entry record, and moves it to a block and back as it is replaced', async () => {
    const pool = await memoryPool();
    const kv = pool.kv('inline', { capacity: 200 });
    const empty = pool.info().heap.blocks;
    for (let i = 0; i < 100; i++) kv.set(i, patternBytes(16, i));
    kv.set('abcd', patternBytes(12, 1));
    expect(pool.info().heap.blocks).toBe(empty); // no value block for any of them
    kv.set('abcde', patternBytes(12, 2)); // 17 bytes with its key
    expect(pool.info().heap.blocks).toBe(empty + 1);
    const steps: Array<[key: number | string, bytes: number, blocks: number]> = [
      [7, 17, 2], [7, 3, 1], [7, 0, 1], ['abcd', 13, 2], ['abcd', 100, 2], ['abcd', 12, 1], ['abcde', 11, 0],
    ];
    for (const [key, bytes, blocks] of steps) {
      const value = patternBytes(bytes, bytes + 3);
      kv.set(key, value);
      expect(kv.get(key), `${key} of ${bytes} bytes`).toEqual(value);
      expect(pool.info().heap.blocks, `${key} of ${bytes} bytes`).toBe(empty + blocks);
      kv.check();
    }
    for (let i = 0; i < 100; i++) if (i !== 7) expect(kv.get(i)).toEqual(patternBytes(16, i));
    kv.set(8, patternBytes(40, 1));
    for (let i = 0; i < 100; i++) kv.delete(i);
    expect(pool.info().heap.blocks).toBe(empty);
    kv.check();
    await pool.close();
  });

  it('writes a value that needs a block of the same size in place: no block changes, even with the heap full', async () => {
    const pool = await memoryPool(2 * MiB);
    const kv = pool.kv('big', { capacity: 1000 });
    let failure: string | undefined;
    for (let i = 0; i < 1000 && !failure; i++) failure = codeOf(() => kv.set(i, new Uint8Array(KV_MAX_VALUE_BYTES)));
    expect(failure).toBe('ENOSPC');
    const blocks = pool.info().heap.blocks;
    const replacement = patternBytes(KV_MAX_VALUE_BYTES, 7);
    kv.set(0, replacement);
    expect(kv.get(0)).toEqual(replacement);
    const shorter = patternBytes(KV_MAX_VALUE_BYTES - 100, 8);
    kv.set(1, shorter);
    expect(kv.get(1)).toEqual(shorter);
    expect(pool.info().heap.blocks).toBe(blocks);
    kv.check();
    await pool.close();
  });

  it('frees every value block with its entry: after sets of mixed sizes, deletes and evictions, deleting every key leaves the empty cache', async () => {
    const seed = 7;
    const random = seededRandom(seed);
    const pool = await memoryPool();
    const kv = pool.kv('leaks', { capacity: 64 });
    const empty = pool.info().heap.blocks;
    const keys = new Set<number | string>();
    for (let i = 0; i < 5000; i++) {
      const n = Math.floor(random() * 300);
      const key = random() < 0.5 ? n : `key-${n}`;
      keys.add(key);
      if (random() < 0.2) kv.delete(key);
      else kv.set(key, new Uint8Array(1 + Math.floor(random() * 100)));
    }
    expect(kv.stats().evictions, `seed ${seed}`).toBeGreaterThan(1000);
    // Every entry owns one block, but for one of at most 16 bytes (key bytes and value), kept in its record.
    const entries = kv.entries();
    const blocks = entries.filter((entry) => entry.keyLength + entry.value.length > 16).length;
    expect(blocks > 0 && blocks < entries.length, `seed ${seed}: ${blocks} of ${entries.length}`).toBe(true);
    expect(pool.info().heap.blocks, `seed ${seed}`).toBe(empty + blocks);
    for (const key of keys) kv.delete(key);
    expect(pool.info().heap.blocks, `seed ${seed}`).toBe(empty);
    kv.check();
    await pool.close();
  });

  it('a growing cache doubles its records and buckets up to maxCapacity, and finds every key while its buckets move', async () => {
    for (const rehash of ['incremental', 'stop-the-world'] as const) {
      const pool = await memoryPool();
      const kv = pool.kv('growing', { capacity: 3, maxCapacity: 3000, evict: 'none', rehash });
      const capacities = new Set<number>();
      let midMove = 0;
      for (let i = 0; i < 3000; i++) {
        if (i % 2 === 0) kv.set(i, `v${i}`);
        else kv.setMany([i], new TextEncoder().encode(`v${i}`.padEnd(8)), 8);
        const { capacity, bucketsToMove } = kv.stats();
        capacities.add(capacity);
        if (bucketsToMove > 0) midMove++;
        // Every key so far, sampled: the newest, and one from each earlier capacity.
        for (const key of [i, i >> 1, i >> 3, i >> 6]) expect(kv.getString(key)?.trim(), `${rehash}: key ${key} after ${i}`).toBe(`v${key}`);
        if (i % 97 === 0) kv.check();
      }
      expect([...capacities], rehash).toEqual([3, 6, 12, 24, 48, 96, 192, 384, 768, 1536, 3000]);
      // Incremental moves span many sets; stop-the-world ones end inside the set that grew the table.
      if (rehash === 'incremental') expect(midMove).toBeGreaterThan(100);
      else expect(midMove).toBe(0);
      expect(kv.stats()).toMatchObject({ initialCapacity: 3, maxCapacity: 3000, buckets: 4096, cold: 3000 });
      expect(codeOf(() => kv.set(3000, 'over'))).toBe('EFULL');
      for (let i = 0; i < 3000; i += 2) expect(kv.delete(i)).toBe(true);
      kv.set('a string key', 'fits again');
      expect(kv.getString('a string key')).toBe('fits again');
      kv.check();
      expect(kv.entries().length).toBe(1501);
      await pool.close();
    }
  });

  it('keys its bucket hash: 2,100 keys that share one bucket of the unkeyed hash grow a cache like any others', async () => {
    // Integer keys whose unkeyed bucket hash (the core's, seed 0) has its low 10 bits 0: one chain up to 1,024 buckets,
    // longer than a 16 KiB journal can move when the table doubles past that and the cache must double again.
    const C = 0xff51afd7ed558ccdn;
    const crafted: number[] = [];
    for (let k = 1n; crafted.length < 2100; k++) {
      const h = BigInt.asUintN(64, (k ^ (k >> 33n)) * C);
      if (((h ^ (h >> 33n)) & 1023n) === 0n) crafted.push(Number(k));
    }
    const pool = await memoryPool(4 * MiB);
    const kv = pool.kv('crafted', { capacity: 16, maxCapacity: 4096, evict: 'none' });
    for (const key of crafted) kv.set(key, 'v');
    expect(kv.stats()).toMatchObject({ cold: 2100, capacity: 4096 });
    for (const key of crafted) expect(kv.has(key)).toBe(true);
    kv.check();
    await pool.close();
  });

  it('setMany into a full growing cache doubles it once per transaction, however many doublings the batch needs', async () => {
    const pool = await memoryPool();
    const kv = pool.kv('tiny', { capacity: 2, maxCapacity: 4096, evict: 'none' });
    const keys = Array.from({ length: 100 }, (_, i) => i * 7919);
    const values = new Uint8Array(keys.length * 8);
    keys.forEach((key, i) => new DataView(values.buffer).setFloat64(i * 8, key, true));
    kv.setMany(keys, values, 8);
    kv.check();
    expect(kv.stats()).toMatchObject({ capacity: 128, cold: 100 });
    keys.forEach((key, i) => expect(kv.get(key), `key ${key}`).toEqual(values.subarray(i * 8, i * 8 + 8)));
    await pool.close();
  });

  it('reads caches of the formats before values in records (KVC4) and before the keyed hash (KVC3)', async () => {
    for (const magic of ['KVC4', 'KVC3']) {
      const path = join(tempDir(), 'old-format.pool');
      const pool = await Pool.open({ path, size: 8 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
      const kv = pool.kv('old', { capacity: 100 });
      const empty = pool.info().heap.blocks;
      // What an older build made, still empty: its magic (KVC3: and no seed); its records of 24 bytes fit the new block.
      pool.txSync((tx) => {
        tx.write(kv.offset, new TextEncoder().encode(magic));
        if (magic === 'KVC3') tx.write(kv.offset + 124, new Uint8Array(4));
      });
      await pool.close();
      const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
      const old = reopened.kv('old');
      for (let i = 0; i < 150; i++) old.set(i, `v${i}`);
      expect(old.getString(149), magic).toBe('v149');
      expect(reopened.info().heap.blocks, magic).toBe(empty + 100); // every value in a block of its own
      // An empty value too: in these formats no value is kept in its record.
      old.set(149, '');
      old.set(149, 'abc');
      expect(old.getString(148), magic).toBe('v148');
      expect(old.getString(149), magic).toBe('abc');
      expect(old.delete(149), magic).toBe(true);
      expect(reopened.info().heap.blocks, magic).toBe(empty + 99);
      old.check();
      await reopened.close();
    }
  });

  it('a hashSeed makes a cache repeat exactly: the same operations leave the same bytes in the pool', async () => {
    const images: Uint8Array[] = [];
    for (const hashSeed of [7, 7, 8]) {
      const pool = await memoryPool(4 * MiB);
      const kv = pool.kv('seeded', { capacity: 50, hashSeed });
      for (let i = 0; i < 200; i++) kv.set((i * 7919) % 1000, 'v');
      images.push(pool.read(pool.dataOffset, pool.dataSize));
      await pool.close();
    }
    expect(Buffer.compare(images[1], images[0])).toBe(0);
    expect(Buffer.compare(images[2], images[0])).not.toBe(0); // the chains do follow the seed
  });

  it('a creation that fails with ENOSPC leaves the caches in use as they were', async () => {
    const pool = await memoryPool();
    const a = pool.kv('a', { capacity: 100 });
    for (let i = 0; i < 100; i++) a.set(i, `v${i}`);
    expect(a.getString(7)).toBe('v7');
    expect(codeOf(() => pool.kv('b', { capacity: 1_000_000 }))).toBe('ENOSPC');
    for (let i = 0; i < 100; i++) expect(a.getString(i)).toBe(`v${i}`);
    a.check();
    await pool.close();
  });

  it('refuses a cache made by an older build with EOLDFORMAT and leaves the pool as it was', async () => {
    const path = join(tempDir(), 'old-cache.pool');
    const pool = await Pool.open({ path, size: 8 * MiB, create: true, device: 'eadr', backgroundFlushMs: 0 });
    const kv = pool.kv('legacy', { capacity: 10 });
    kv.set(1, 'one');
    pool.txSync((tx) => tx.write(kv.offset, new TextEncoder().encode('KVC2'))); // the previous format's magic
    await pool.close();
    const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
    expect(codeOf(() => reopened.kv('legacy'))).toBe('EOLDFORMAT');
    expect(codeOf(() => reopened.kv('legacy', { capacity: 10 }))).toBe('EOLDFORMAT'); // nor is it recreated over
    await reopened.close();
    await (await Pool.open({ path, backgroundFlushMs: 0 })).close(); // the pool itself still opens
  });

  it('a growing cache without heap room for the next doubling fails the set with ENOSPC and stays valid', async () => {
    const pool = await memoryPool(2 * MiB);
    const kv = pool.kv('growing', { capacity: 1024, maxCapacity: 1 << 20, evict: 'none' });
    let failure: string | undefined;
    let stored = 0;
    for (let i = 0; !failure; i++) {
      failure = codeOf(() => kv.set(i, new Uint8Array(200)));
      if (!failure) stored++;
    }
    expect(failure).toBe('ENOSPC');
    kv.check();
    expect(kv.stats().cold).toBe(stored);
    expect(kv.get(stored - 1)).toEqual(new Uint8Array(200));
    await pool.close();
  });

  it('batch forms agree with single calls', async () => {
    const pool = await memoryPool();
    const single = pool.kv('single', { capacity: 500 });
    const batched = pool.kv('batched', { capacity: 500 });
    const seed = 42;
    let x = seed;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 2000;
    for (let round = 0; round < 20; round++) {
      const keys = Float64Array.from({ length: 200 }, next);
      const got = batched.getMany(keys, 8);
      const misses = keys.filter((_, i) => got.lengths[i] < 0);
      const values = new Uint8Array(misses.length * 8);
      misses.forEach((key, i) => new DataView(values.buffer).setFloat64(i * 8, key, true));
      batched.setMany(misses, values, 8);
      // The same calls one key at a time: every lookup first, then the sets of the misses in order.
      const looked = Array.from(keys, (key) => single.get(key));
      for (let i = 0; i < keys.length; i++) {
        const value = looked[i];
        expect(got.lengths[i] < 0, `seed ${seed}`).toBe(value === undefined);
        if (value) expect(got.values.subarray(i * 8, i * 8 + 8)).toEqual(value);
      }
      misses.forEach((key, i) => single.set(key, values.subarray(i * 8, i * 8 + 8)));
    }
    expect(batched.entries()).toEqual(single.entries());
    const counters = ({ hits, misses, promotions, evictions, ghostHits, softFaults }: ReturnType<typeof single.stats>) =>
      ({ hits, misses, promotions, evictions, ghostHits, softFaults });
    expect(counters(batched.stats())).toEqual(counters(single.stats()));
    batched.check();
    await pool.close();
  });

  it('setMany on a durable pool syncs once, and every set survives a process death', async () => {
    const store = new MemoryStore();
    const pool = await Pool.open({ store, size: 16 * MiB, create: true, device: 'adr', backgroundFlushMs: 0 });
    const kv = pool.kv('durable', { capacity: 1000 });
    const keys = Array.from({ length: 300 }, (_, i) => i * 3);
    const values = patternBytes(300 * 32, 5);
    const syncs = store.syncs;
    kv.setMany(keys, values, 32);
    expect(store.syncs - syncs).toBe(1);
    const reopened = await Pool.open({ store, backgroundFlushMs: 0 }); // no close: the process died
    const again = reopened.kv('durable');
    again.check();
    keys.forEach((key, i) => expect(again.get(key)).toEqual(values.subarray(i * 32, i * 32 + 32)));
  });

  it('is scan resistant: a one-pass scan of 10x capacity keeps 99% of a hot set that fits', async () => {
    const capacity = 1000;
    const pool = await memoryPool(64 * MiB);
    const kv = pool.kv('scan', { capacity });
    const hotSet = Array.from({ length: 500 }, (_, i) => i);
    const value = new Uint8Array(16);
    for (let round = 0; round < 3; round++) for (const key of hotSet) if (!kv.get(key)) kv.set(key, value);
    for (let key = 1_000_000; key < 1_000_000 + 10 * capacity; key++) if (!kv.get(key)) kv.set(key, value);
    const resident = hotSet.filter((key) => kv.has(key)).length;
    expect(resident / hotSet.length).toBeGreaterThanOrEqual(0.99);
    expect(kv.stats().hot).toBeGreaterThanOrEqual(495);
    kv.check();
    await pool.close();
  });

  it('keeps a stable part of a loop eight times its size: keys back from long ago enter hot one time in 8', async () => {
    // Admitting every such key would have each evict the last, and the loop would miss on every request, as under LRU.
    const pool = await memoryPool();
    const kv = pool.kv('loop', { capacity: 100 });
    let hits = 0;
    let requests = 0;
    for (let pass = 0; pass < 40; pass++) {
      for (let key = 0; key < 800; key++) {
        const hit = kv.get(key) !== undefined;
        if (!hit) kv.set(key, 'v');
        if (pass >= 30) {
          requests++;
          if (hit) hits++;
        }
      }
    }
    expect(hits / requests).toBeGreaterThanOrEqual(0.05);
    expect(kv.stats().hot).toBeGreaterThanOrEqual(80);
    kv.check();
    await pool.close();
  });

  it('a key that left cold without a hit comes back through the ghost into hot; a delete forgets it', async () => {
    const pool = await memoryPool();
    const kv = pool.kv('ghostly', { capacity: 10 });
    for (let key = 0; key < 10; key++) kv.set(key, `v${key}`);
    kv.set(10, 'v10'); // cold is full: key 0, never hit, leaves for the ghost
    expect(kv.has(0)).toBe(false);
    expect(kv.stats()).toMatchObject({ evictions: 1, ghost: 1, ghostHits: 0 });
    expect(kv.ghosts()).toHaveLength(1);

    kv.set(0, 'back'); // a ghost hit: into hot, and key 1 leaves cold for the ghost to make room
    expect(kv.stats()).toMatchObject({ ghostHits: 1, promotions: 1, ghost: 1, hot: 1 });
    expect(kv.entries().find((e) => e.key === 0n)?.queue).toBe('hot');
    expect(kv.getString(0)).toBe('back');
    expect(kv.has(1)).toBe(false);

    expect(kv.delete(1)).toBe(false); // not resident, but the ghost forgets it
    expect(kv.ghosts()).toHaveLength(0);
    kv.set(1, 'new');
    expect(kv.stats()).toMatchObject({ ghostHits: 1, ghost: 1 }); // a plain new key: into cold, evicting key 2
    expect(kv.entries().find((e) => e.key === 1n)?.queue).toBe('cold');
    kv.check();
    await pool.close();
  });

  it('hits on HOT entries make no metadata store; an armed entry pays one soft fault', async () => {
    const capacity = 100;
    const pool = await memoryPool();
    const kv = pool.kv('hits', { capacity });
    const value = new Uint8Array(8);
    // Keys hit while cold move to hot when cold evicts them.
    for (let key = 0; key < 50; key++) kv.set(key, value);
    for (let key = 0; key < 50; key++) kv.get(key);
    for (let key = 1000; key < 1100; key++) kv.set(key, value);
    expect(kv.stats().hot).toBe(50);
    const before = kv.stats();
    for (let round = 0; round < 20; round++) for (let key = 0; key < 50; key++) expect(kv.get(key)).toBeDefined();
    const after = kv.stats();
    expect(after.hits - before.hits).toBe(1000);
    expect(after.hotHitStores).toBe(before.hotHitStores);
    expect(after.hotHitStores).toBe(0);
    // The batch form too: its lookups of HOT entries store nothing.
    const hotKeys = Array.from({ length: 50 }, (_, key) => key);
    for (let round = 0; round < 20; round++) expect(kv.getMany(hotKeys, 8).lengths.every((length) => length === 8)).toBe(true);
    expect(kv.stats().hits - after.hits).toBe(1000);
    expect(kv.stats().hotHitStores).toBe(0);
    // Ghost hits sweep the hot ring, which arms entries; each armed entry's next hit stores once.
    for (let key = 1000; key < 1100; key++) if (!kv.get(key)) kv.set(key, value);
    const armed = kv.stats();
    for (let round = 0; round < 3; round++) for (let key = 0; key < 50; key++) kv.get(key);
    const faulted = kv.stats();
    expect(faulted.softFaults - armed.softFaults).toBeLessThanOrEqual(50);
    expect(faulted.hotHitStores - armed.hotHitStores).toBe(faulted.softFaults - armed.softFaults);
    kv.check();
    await pool.close();
  });

  it('reopens warm from its file, with every entry and queue as it was', async () => {
    const path = join(tempDir(), 'cache.pool');
    const pool = await Pool.open({ path, size: 16 * MiB, create: true, device: 'adr', backgroundFlushMs: 0 });
    const kv = pool.kv('warm', { capacity: 200 });
    for (let i = 0; i < 1000; i++) {
      const key = i % 7 === 0 ? i % 50 : i;
      if (!kv.get(key)) kv.set(key, `value ${key}`);
    }
    const entries = kv.entries();
    expect(entries.some((e) => e.queue === 'hot')).toBe(true);
    await pool.close();
    const reopened = await Pool.open({ path, backgroundFlushMs: 0 });
    const again = reopened.kv('warm');
    again.check();
    expect(again.entries()).toEqual(entries);
    expect(again.getString(49)).toBe('value 49');
    await reopened.close();
  });

  it('pool.info() and wasm-pmem info list the caches with their sizes', async () => {
    const path = join(tempDir(), 'listed.pool');
    const pool = await Pool.open({ path, size: 8 * MiB, create: true, device: 'adr', backgroundFlushMs: 0 });
    const sessions = pool.kv('sessions', { capacity: 100 });
    for (let i = 0; i < 150; i++) sessions.set(i, 'x');
    pool.kv('fixed', { capacity: 10, evict: 'none' }).set('a', 'b');
    // 50 keys left cold; the direct-mapped ghost holds fewer when two of them share a slot.
    const { ghost } = sessions.stats();
    expect(ghost).toBeGreaterThan(40);
    expect(ghost).toBeLessThanOrEqual(50);
    const expected = [
      { name: 'fixed', capacity: 10, evict: 'none', cold: 1, hot: 0, ghost: 0 },
      { name: 'sessions', capacity: 100, evict: 'two-phase', cold: 100, hot: 0, ghost },
    ];
    expect(pool.info().caches).toMatchObject(expected);
    await pool.close();
    const bin = join(import.meta.dirname, '..', 'bin', 'wasm-pmem.js');
    const result = spawnSync(process.execPath, [bin, 'info', path, '--json'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).caches).toMatchObject(expected);
  });

  it('check reports a damaged cache with ECORRUPT', async () => {
    const pool = await memoryPool();
    const kv = pool.kv('damaged', { capacity: 50 });
    for (let i = 0; i < 60; i++) kv.set(i, 'x');
    kv.check();
    // Bucket 0's chain head (after its lock word, in the bucket table whose pool offset the header holds at byte
    // 108) pointed at every record in turn: most records belong to other buckets, so the chain invariant must break for some.
    const head = new DataView(pool.read(kv.offset + 108, 4).buffer).getUint32(0, true) + 4;
    let detected = 0;
    for (let record = 1; record <= 60; record++) {
      const saved = pool.read(head, 4);
      pool.write(head, new Uint8Array(new Uint32Array([record]).buffer));
      if (codeOf(() => kv.check()) === 'ECORRUPT') detected++;
      pool.write(head, saved);
    }
    expect(detected).toBeGreaterThan(50);
    kv.check();
    // A record whose value is kept in it (16 bytes at most) claiming a 17-byte value: invariant 9.
    const length = kv.offset + 256 + 22; // record 1 (after the 256-byte header), its u16 value length
    const saved = pool.read(length, 2);
    pool.write(length, new Uint8Array(new Uint16Array([17]).buffer));
    expect(codeOf(() => kv.check())).toBe('ECORRUPT');
    expect(() => kv.check()).toThrow(/invariant 9/);
    pool.write(length, saved);
    kv.check();
    await pool.close();
  });
});
