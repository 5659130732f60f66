// The explorer's cache workloads. The model is a second cache in a pool that
// never crashes, fed the same operations: after any crash, the recovered cache
// must hold exactly the reference's entries (keys, queues and values), ghost
// fingerprints and geometry at the recovered commit, pass its invariant check,
// and own exactly the heap blocks the reference's pool holds.
//
// - kv: gets, sets, batches of sets and deletes on a small evicting cache, so that every few
//   steps entries leave cold for the ghost, ghosts are promoted and the hot
//   ring is swept. The heap is filled first, leaving room for 8 large values
//   only, so that some sets of a large value evict and then find no room: such
//   a set fails with ENOSPC and commits its evictions.
// - grow: a cache that does not evict and grows from 2 entries: mostly new
//   keys, so it keeps doubling its records and buckets, and most steps run in
//   the middle of a bucket move.
import type { Kv } from '../../api/kv.js';
import type { KvOptions } from '../../api/kv-options.js';
import { Pool } from '../../api/pool.js';
import type { TxOptions } from '../../api/transaction.js';
import { seededBytes } from '../../device/prng.js';
import { NoSpaceError } from '../../errors.js';
import { MemoryStore } from '../../store/memory-store.js';
import { type CacheEntry, type CacheInfo, cacheEntries, cacheGhosts, cacheInfo, ownerReader } from '../cache-inspection.js';
import type { RecoveredImage } from '../pool-runtime.js';
import type { ExplorerWorkload } from './workloads.js';

const NAME = 'crashtest';
// A fixed bucket-hash seed: a rerun with the explorer's seed meets the same crash states.
const HASH_SEED = 0x2545f491;
const KV_OPTIONS: KvOptions = { capacity: 12, hashSeed: HASH_SEED };
const KV_KEYS = 40;
const KV_HOT_KEYS = 6;
const BATCH_STRIDE = 24; // setMany's value stride (at most SETS_PER_TRANSACTION keys a step: one transaction)
/**
 * kv: the heap keeps 3 free 64 KiB chunks after setup: one each for the small values'
 * two size classes, one for the large values' (8 slots of 8 KiB). Half the sets
 * write a large value, so a set now and then finds all 8 slots taken.
 */
const FREE_CHUNKS_LEFT = 3;
const CHUNK = 64 << 10;
const LARGE_VALUE_MIN = (4 << 10) + 1;
const LARGE_VALUE_SPREAD = 4 << 10;
const LARGE_SHARE = 0.5;
const GROW_OPTIONS: KvOptions = { capacity: 2, maxCapacity: 1 << 16, evict: 'none', hashSeed: HASH_SEED };

const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : '');

/** The state a cache's entries, ghost and geometry describe, with the heap blocks its pool holds. */
function describe(entries: CacheEntry[], ghosts: Array<[number, number]>, info: CacheInfo, heapBlocks: number): string {
  const sorted = entries.map((e) => [String(e.key), e.queue, hex(e.value)]).sort((a, b) => a[0].localeCompare(b[0]));
  const { capacity, buckets, bucketsToMove } = info;
  return JSON.stringify({ entries: sorted, ghosts, capacity, buckets, bucketsToMove, heapBlocks });
}

export class CacheWorkload implements ExplorerWorkload {
  private kv: Kv | undefined;
  private reference: Kv | undefined;
  private referencePool: Pool | undefined;
  private nextSeed = 1;
  /** grow: the next new key, and the keys set so far that a delete may pick. */
  private nextKey = 0;

  constructor(private readonly grows: boolean) {}

  async setup(pool: Pool, _options: TxOptions): Promise<void> {
    const options = this.grows ? GROW_OPTIONS : KV_OPTIONS;
    this.kv = pool.kv(NAME, options);
    this.referencePool = await Pool.open({ store: new MemoryStore(), size: pool.size, create: true, device: 'eadr', backgroundFlushMs: 0 });
    this.reference = this.referencePool.kv(NAME, options);
    if (this.grows) return;
    fillHeap(pool);
    fillHeap(this.referencePool);
    const [heap, referenceHeap] = [pool.info().heap, this.referencePool.info().heap];
    if (JSON.stringify(heap) !== JSON.stringify(referenceHeap)) throw new Error('the reference pool\'s heap differs from the pool\'s');
  }

  step(_pool: Pool, _options: TxOptions, random: () => number, _pause: () => void): () => void {
    const key = this.grows ? this.growKey(random) : this.kvKey(random);
    const op = random();
    let apply: (kv: Kv) => void;
    if (op < 0.25) {
      apply = (kv) => kv.get(key);
    } else if (op < 0.7 || (this.grows && op < 0.85)) {
      const seed = this.nextSeed++;
      const large = !this.grows && random() < LARGE_SHARE;
      const value = seededBytes(large ? LARGE_VALUE_MIN + (seed % LARGE_VALUE_SPREAD) : 1 + (seed % 24), seed);
      apply = (kv) => kv.set(key, value);
    } else if (op < 0.85) {
      // 2 to 4 sets in one transaction: a batch's state words are written once, at its end.
      const keys = [key];
      const count = 2 + Math.floor(random() * 3);
      while (keys.length < count) keys.push(this.kvKey(random));
      const values = new Uint8Array(keys.length * BATCH_STRIDE);
      const lengths = keys.map((_, i) => {
        const seed = this.nextSeed++;
        const value = seededBytes(1 + (seed % BATCH_STRIDE), seed);
        values.set(value, i * BATCH_STRIDE);
        return value.length;
      });
      apply = (kv) => kv.setMany(keys, values, BATCH_STRIDE, lengths);
    } else {
      apply = (kv) => kv.delete(key);
    }
    // A set that finds no room for its value commits the evictions it made: the reference must fail alike.
    const outcome = (kv: Kv) => {
      try {
        apply(kv);
        return 'done';
      } catch (error) {
        if (error instanceof NoSpaceError) return 'ENOSPC';
        throw error;
      }
    };
    const result = outcome(this.kv!);
    return () => {
      if (outcome(this.reference!) !== result) throw new Error(`the reference cache's step did not end as the cache's did (${result})`);
    };
  }

  /** A few keys are hot, the rest come and go. */
  private kvKey(random: () => number): number {
    return random() < 0.5 ? Math.floor(random() * KV_HOT_KEYS) : Math.floor(random() * KV_KEYS);
  }

  /** Mostly a new key, so that the cache keeps filling; else one seen before. */
  private growKey(random: () => number): number {
    return random() < 0.7 || this.nextKey === 0 ? this.nextKey++ : Math.floor(random() * this.nextKey);
  }

  expected(): string {
    const entries = this.reference!.entries();
    return describe(entries, this.reference!.ghosts(), this.reference!.info(), this.referencePool!.info().heap.blocks);
  }

  observe(recovered: RecoveredImage): string {
    const offset = this.kv!.offset;
    const failed = recovered.core.kv_check(offset);
    if (failed !== 0) throw new Error(`the cache fails invariant ${failed}`);
    const reader = ownerReader(recovered.core, recovered.pool.buffer);
    const entries = [...cacheEntries(reader, offset)];
    const info = cacheInfo(reader, offset, recovered.core.KV_STATS_ADDRESS.value);
    return describe(entries, cacheGhosts(recovered.core, offset), info, recovered.heap!.blocks);
  }
}

/** Allocates whole chunks, never freed, until FREE_CHUNKS_LEFT are free. */
function fillHeap(pool: Pool): void {
  while (pool.info().heap.freeChunks > FREE_CHUNKS_LEFT) pool.txSync((tx) => tx.alloc(CHUNK), { log: 'redo' });
}
