// Workloads for the crash-state explorer. A workload keeps its own model of the
// committed state, independent of the engine under test, and reads the
// recovered state back from raw pool bytes.
//
// - bank: transfers between accounts; the sum of balances never changes.
// - alloc: allocates stamped blocks and frees them, recording live blocks in a table.
// - mixed: both in the same transactions.
// - kv: sets, gets and deletes on a small persistent cache (cache-workload.ts).
// - grow: the same on a cache that grows, doubling its records and buckets (cache-workload.ts).
import type { Pool } from '../../api/pool.js';
import type { Transaction, TxOptions } from '../../api/transaction.js';
import { seededBytes } from '../../device/prng.js';
import type { RecoveredImage } from '../pool-runtime.js';
import { CacheWorkload } from './cache-workload.js';

export const WORKLOADS = ['bank', 'alloc', 'mixed', 'kv', 'grow'] as const;
/** The workloads on a persistent cache, which runs redo transactions only. */
export const CACHE_WORKLOADS: readonly WorkloadName[] = ['kv', 'grow'];
export type WorkloadName = (typeof WORKLOADS)[number];

/** What the explorer runs: committed steps, each with the state it must leave. */
export interface ExplorerWorkload {
  setup(pool: Pool, options: TxOptions): Promise<void>;
  /**
   * Runs one step (at most one transaction), calling `pause` between its
   * stores; returns the model's change, applied once the step has committed.
   */
  step(pool: Pool, options: TxOptions, random: () => number, pause: () => void): () => void;
  /** The committed state the model expects. */
  expected(): string;
  /** The state read back from a recovered image; throws when a structure is damaged. */
  observe(recovered: RecoveredImage): string;
}

export function createWorkload(name: WorkloadName): ExplorerWorkload {
  return name === 'kv' || name === 'grow' ? new CacheWorkload(name === 'grow') : new Workload(name);
}

const ACCOUNTS = 16;
const INITIAL_BALANCE = 1000;
const TABLE_SLOTS = 48;
const STAMP = 16;

interface Block {
  offset: number;
  size: number;
  seed: number;
}

/** 16 bytes derived from a block's seed, written at both ends of the block. */
const stamp = (seed: number) => seededBytes(STAMP, seed);

const u64 = (view: DataView, at: number) => Number(view.getBigUint64(at, true));

export class Workload implements ExplorerWorkload {
  private readonly bank: boolean;
  private readonly alloc: boolean;
  // The model: what every committed step so far must have produced.
  private balances = new Array<number>(ACCOUNTS).fill(INITIAL_BALANCE);
  private transfers = 0;
  private blocks: Block[] = [];
  private nextSeed = 1;
  // Where the structures live (the pool root points at a directory of both).
  private bankBlock = 0;
  private table = 0;

  constructor(readonly name: Exclude<WorkloadName, 'kv' | 'grow'>) {
    this.bank = name !== 'alloc';
    this.alloc = name !== 'bank';
  }

  async setup(pool: Pool, options: TxOptions): Promise<void> {
    pool.txSync((tx) => {
      const directory = tx.alloc(16);
      if (this.bank) {
        this.bankBlock = tx.alloc(8 + ACCOUNTS * 8);
        for (let i = 0; i < ACCOUNTS; i++) tx.setU64(this.bankBlock + 8 + i * 8, BigInt(INITIAL_BALANCE));
        tx.setU64(directory, BigInt(this.bankBlock));
      }
      if (this.alloc) {
        this.table = tx.alloc(8 + TABLE_SLOTS * 16);
        tx.setU64(directory + 8, BigInt(this.table));
      }
      tx.root = directory;
    }, options);
  }

  /** One transaction: a transfer and/or an allocation or free. */
  step(pool: Pool, options: TxOptions, random: () => number, pause: () => void): () => void {
    const changes: Array<() => void> = [];
    pool.txSync((tx) => {
      if (this.bank) changes.push(this.transfer(tx, random, pause));
      if (this.alloc) changes.push(this.allocOrFree(tx, random, pause));
    }, options);
    return () => changes.forEach((apply) => apply());
  }

  private transfer(tx: Transaction, random: () => number, pause: () => void): () => void {
    const from = Math.floor(random() * ACCOUNTS);
    const to = (from + 1 + Math.floor(random() * (ACCOUNTS - 1))) % ACCOUNTS;
    const amount = Math.min(this.balances[from], 1 + Math.floor(random() * 50));
    const account = (i: number) => this.bankBlock + 8 + i * 8;
    tx.setU64(account(from), tx.getU64(account(from)) - BigInt(amount));
    pause();
    tx.setU64(account(to), tx.getU64(account(to)) + BigInt(amount));
    pause();
    tx.setU64(this.bankBlock, tx.getU64(this.bankBlock) + 1n);
    return () => {
      this.balances[from] -= amount;
      this.balances[to] += amount;
      this.transfers++;
    };
  }

  private allocOrFree(tx: Transaction, random: () => number, pause: () => void): () => void {
    const blocks = this.blocks;
    const slot = (i: number) => this.table + 8 + i * 16;
    if (blocks.length > 0 && (blocks.length === TABLE_SLOTS || random() < 0.4)) {
      const i = Math.floor(random() * blocks.length);
      tx.free(blocks[i].offset);
      pause();
      const last = blocks[blocks.length - 1];
      tx.write(slot(i), this.entry(last));
      tx.setU64(this.table, BigInt(blocks.length - 1));
      return () => {
        blocks[i] = last;
        blocks.pop();
      };
    }
    // Mostly small blocks, sometimes a run of whole 64 KiB chunks.
    const size = random() < 0.1 ? 65_536 + Math.floor(random() * 70_000) : 1 + Math.floor(random() * 6000);
    const block = { offset: tx.alloc(size), size, seed: this.nextSeed++ };
    tx.write(block.offset, stamp(block.seed).subarray(0, Math.min(STAMP, size)));
    pause();
    if (size >= 2 * STAMP) tx.write(block.offset + size - STAMP, stamp(block.seed));
    tx.write(slot(blocks.length), this.entry(block));
    tx.setU64(this.table, BigInt(blocks.length + 1));
    return () => blocks.push(block);
  }

  private entry(block: Block): Uint8Array {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, block.offset, true);
    view.setUint32(4, block.size, true);
    view.setUint32(8, block.seed, true);
    return bytes;
  }

  /** The committed state the model expects, with the number of heap blocks it must hold. */
  expected(): string {
    return JSON.stringify({
      transfers: this.bank ? this.transfers : undefined,
      balances: this.bank ? this.balances : undefined,
      blocks: this.alloc ? this.blocks : undefined,
      heapBlocks: 1 + (this.bank ? 1 : 0) + (this.alloc ? 1 + this.blocks.length : 0),
    });
  }

  /** The recovered state, read from raw pool bytes; throws when a structure is damaged. */
  observe(recovered: RecoveredImage): string {
    const pool = new DataView(recovered.pool.buffer, recovered.pool.byteOffset, recovered.pool.length);
    const root = recovered.core.tx_root();
    const heapBlocks = recovered.heap!.blocks;
    let transfers: number | undefined;
    let balances: number[] | undefined;
    let blocks: Block[] | undefined;
    if (this.bank) {
      const bank = u64(pool, root);
      transfers = u64(pool, bank);
      balances = Array.from({ length: ACCOUNTS }, (_, i) => u64(pool, bank + 8 + i * 8));
      if (balances.reduce((a, b) => a + b, 0) !== ACCOUNTS * INITIAL_BALANCE) throw new Error('the sum of balances changed');
    }
    if (this.alloc) {
      const table = u64(pool, root + 8);
      const count = u64(pool, table);
      if (count > TABLE_SLOTS) throw new Error(`the block table claims ${count} blocks`);
      blocks = Array.from({ length: count }, (_, i) => {
        const at = table + 8 + i * 16;
        return { offset: pool.getUint32(at, true), size: pool.getUint32(at + 4, true), seed: pool.getUint32(at + 8, true) };
      });
      const sorted = [...blocks].sort((a, b) => a.offset - b.offset);
      for (let i = 1; i < sorted.length; i++) {
        if (sorted[i - 1].offset + sorted[i - 1].size > sorted[i].offset) throw new Error(`blocks ${sorted[i - 1].offset} and ${sorted[i].offset} overlap`);
      }
      for (const block of blocks) {
        const expected = stamp(block.seed);
        const ends = [[block.offset, Math.min(STAMP, block.size)]];
        if (block.size >= 2 * STAMP) ends.push([block.offset + block.size - STAMP, STAMP]);
        for (const [at, n] of ends) {
          for (let i = 0; i < n; i++) {
            if (pool.getUint8(at + i) !== expected[i]) throw new Error(`block ${block.offset} lost its contents`);
          }
        }
      }
    }
    return JSON.stringify({ transfers, balances, blocks, heapBlocks });
  }
}
