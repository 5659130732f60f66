// Reads of the pool for read-only transactions, which take no lock: a seqlock
// over the two sequences writers keep odd while they change the pool in place
// (a redo commit applying its writes, an open undo transaction). A snapshot
// starts when both are even and stays valid while neither moves; every read is
// checked after it is made, so a transaction never acts on a torn state.
import type { Core } from '../core/core.js';

/** Thrown by a read whose snapshot moved: the read-only transaction runs again. */
export class SnapshotMovedError extends Error {
  constructor() {
    super('a writer changed the pool under a read-only transaction');
  }
}

/** Spins a snapshot start waits for a writer to finish before it gives up (a redo apply takes microseconds). */
const START_SPINS = 2000;

export class SnapshotReader {
  private readonly apply: Int32Array;
  private readonly write: Int32Array;
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private applyAt = 0;
  private writeAt = 0;

  constructor(
    buffer: ArrayBufferLike,
    private readonly poolBase: number,
    core: Core,
  ) {
    this.apply = new Int32Array(buffer, core.APPLY_SEQUENCE_ADDRESS.value, 1);
    this.write = new Int32Array(buffer, core.WRITE_SEQUENCE_ADDRESS.value, 1);
    this.view = new DataView(buffer);
    this.bytes = new Uint8Array(buffer);
  }

  /** Starts a snapshot once no writer is mid-way; false if one stayed mid-way through the spin. */
  start(): boolean {
    for (let spin = 0; spin < START_SPINS; spin++) {
      const write = Atomics.load(this.write, 0);
      const apply = Atomics.load(this.apply, 0);
      if (((write | apply) & 1) === 0) {
        this.writeAt = write;
        this.applyAt = apply;
        return true;
      }
    }
    return false;
  }

  /** Whether no writer has changed the pool since `start`. */
  valid(): boolean {
    return Atomics.load(this.apply, 0) === this.applyAt && Atomics.load(this.write, 0) === this.writeAt;
  }

  /** Throws SnapshotMovedError unless the snapshot is still valid. */
  check(): void {
    if (!this.valid()) throw new SnapshotMovedError();
  }

  /** Runs `store`, a change of the pool outside any transaction (the owner's raw writes), as a writer snapshots see. */
  storeOutsideTransactions(store: () => void): void {
    Atomics.add(this.write, 0, 1);
    try {
      store();
    } finally {
      Atomics.add(this.write, 0, 1);
    }
  }

  bytesAt(offset: number, length: number): Uint8Array {
    const at = this.poolBase + offset;
    const copy = this.bytes.slice(at, at + length);
    this.check();
    return copy;
  }

  u32(offset: number): number {
    const value = this.view.getUint32(this.poolBase + offset, true);
    this.check();
    return value;
  }

  u64(offset: number): bigint {
    const value = this.view.getBigUint64(this.poolBase + offset, true);
    this.check();
    return value;
  }

  f64(offset: number): number {
    const value = this.view.getFloat64(this.poolBase + offset, true);
    this.check();
    return value;
  }
}
