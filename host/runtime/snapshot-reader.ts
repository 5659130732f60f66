// Reads of the pool for read-only transactions, which take no lock: a seqlock
// over the two sequences writers keep odd while they change the pool in place
// (a redo commit applying its writes; an open undo transaction, the owner's raw
// stores and a power outage, all of which hold the lock or keep every thread
// out). A snapshot starts when both are even and stays valid while neither
// moves; every read is checked after it is made, so a transaction never acts on
// a torn state. One reader per thread, one snapshot at a time.
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
  /** A word only this thread touches: an atomic read-modify-write on it orders the plain reads before a check. */
  private readonly fence = new Int32Array(new SharedArrayBuffer(4));
  private applyAt = 0;
  private writeAt = 0;
  private inOutage = false;
  /** Whether this thread is inside a read-only transaction's callback (no write may start there). */
  active = false;

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
    // Plain loads may otherwise be performed after the sequence loads on weakly ordered CPUs.
    Atomics.or(this.fence, 0, 0);
    return Atomics.load(this.apply, 0) === this.applyAt && Atomics.load(this.write, 0) === this.writeAt;
  }

  /** Throws SnapshotMovedError unless the snapshot is still valid. */
  check(): void {
    if (!this.valid()) throw new SnapshotMovedError();
  }

  /** Runs `store`, a change of the pool outside any transaction (the owner's raw writes, under the lock), as a writer snapshots see. */
  storeOutsideTransactions(store: () => void): void {
    Atomics.add(this.write, 0, 1);
    try {
      store();
    } finally {
      Atomics.add(this.write, 0, 1);
    }
  }

  /** The owner's memory is lost or being restored: no snapshot starts or stays valid until `endOutage`. */
  beginOutage(): void {
    if (this.inOutage) return;
    this.inOutage = true;
    Atomics.add(this.write, 0, 1);
  }

  endOutage(): void {
    if (!this.inOutage) return;
    this.inOutage = false;
    Atomics.add(this.write, 0, 1);
  }

  /** `value`, once the check after its read passed. */
  private checked<T>(value: T): T {
    this.check();
    return value;
  }

  bytesAt(offset: number, length: number): Uint8Array {
    const at = this.poolBase + offset;
    return this.checked(this.bytes.slice(at, at + length));
  }

  u32(offset: number): number {
    return this.checked(this.view.getUint32(this.poolBase + offset, true));
  }

  u64(offset: number): bigint {
    return this.checked(this.view.getBigUint64(this.poolBase + offset, true));
  }

  f64(offset: number): number {
    return this.checked(this.view.getFloat64(this.poolBase + offset, true));
  }
}
