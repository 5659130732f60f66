import type { SaveOptions, SaveReport } from '../store/image-store.js';

export interface RestoreReport {
  /** Generation of the image that was loaded. */
  generation: number;
  /** Whether the image came from a clean shutdown; false means recovery ran on a crash image. */
  cleanShutdown: boolean;
  bytes: number;
  durationMs: number;
}

/** What the platform drives: the pool runtime, seen as a powered machine with a backing store. */
export interface PowerTarget {
  readonly poweredOn: boolean;
  /** Bytes the next save would write. */
  pendingBytes(): number;
  /** Stops admitting work; in-flight work finishes at its next safe point. */
  quiesce(): void;
  save(options?: SaveOptions): SaveReport;
  /** Power is gone: volatile memory is lost. */
  powerOff(): void;
  /** Power is back: load the newest complete image and recover. */
  powerOn(): RestoreReport;
}
