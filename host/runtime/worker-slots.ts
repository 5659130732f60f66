// Worker slots: each thread attached to a pool's memory holds one, as a bit of
// an i32 in the core's control block, and has the slot's own area after the
// pool's memory: a scratch area (where it stages bytes and its core instance
// answers), its transactions' written-lines filter, its core instance's staging
// area, the counters of its cache handles, and its concurrent transactions'
// area (read log and redo record). The owner will not close
// its pool while a slot is held.
import { PmemError } from '../errors.js';

const WORKER_SLOTS = 8;
/**
 * Each slot's area: its scratch area, its written-lines filter, its staging area, its cache handles' counters,
 * then its concurrent transactions' area.
 */
const WORKER_BASE_BYTES = 64 << 10;
export const WORKER_CONCURRENT_BYTES = 80 << 10; // the core's CONCURRENT_AREA_BYTES
const WORKER_AREA_BYTES = WORKER_BASE_BYTES + WORKER_CONCURRENT_BYTES;
const WORKER_STATS_BYTES = 1 << 10;
export const WORKER_FILTER_BYTES = 1 << 10; // the core's WRITTEN_FILTER_BYTES
export const WORKER_STAGING_BYTES = 256; // the core's STAGING_BYTES
export const WORKER_SCRATCH_BYTES = WORKER_BASE_BYTES - WORKER_FILTER_BYTES - WORKER_STAGING_BYTES - WORKER_STATS_BYTES;

/** Where worker slot `slot`'s concurrent transactions' area starts. */
export function workerConcurrentAt(memoryEnd: number, slot: number): number {
  return workerScratchAt(memoryEnd, slot) + WORKER_BASE_BYTES;
}

/** Where worker slot `slot`'s area (scratch first) starts, for a pool whose memory (pool and device) ends at `memoryEnd`. */
export function workerScratchAt(memoryEnd: number, slot: number): number {
  return Math.ceil(memoryEnd / WORKER_AREA_BYTES) * WORKER_AREA_BYTES + slot * WORKER_AREA_BYTES;
}

/** Bytes of linear memory a pool with worker slots needs. */
export function workerMemoryEnd(memoryEnd: number): number {
  return workerScratchAt(memoryEnd, WORKER_SLOTS);
}

export class WorkerSlots {
  private readonly word: Int32Array;

  constructor(buffer: ArrayBufferLike, address: number) {
    this.word = new Int32Array(buffer, address, 1);
  }

  /** Takes the lowest free slot. */
  claim(): number {
    for (;;) {
      const taken = Atomics.load(this.word, 0);
      const lowestFree = ~taken & (taken + 1);
      const slot = 31 - Math.clz32(lowestFree);
      if (slot < 0 || slot >= WORKER_SLOTS) {
        throw new PmemError('EBUSY', `all ${WORKER_SLOTS} worker slots of the pool are attached`, { slots: WORKER_SLOTS });
      }
      if (Atomics.compareExchange(this.word, 0, taken, taken | (1 << slot)) === taken) return slot;
    }
  }

  release(slot: number): void {
    Atomics.and(this.word, 0, ~(1 << slot));
  }

  /** How many slots are held. */
  get attached(): number {
    let taken = Atomics.load(this.word, 0);
    let n = 0;
    for (; taken !== 0; taken &= taken - 1) n++;
    return n;
  }
}
