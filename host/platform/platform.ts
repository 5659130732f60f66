// The platform (BIOS/ACPI) model: AC power loss with a hold-up time budget,
// power restore, and background flushing that keeps the final save small.
import { InvalidArgumentError, PowerOffError } from '../errors.js';
import type { PowerTarget, RestoreReport } from './power-target.js';

export interface PowerLossReport {
  /** True when the whole image was durable within the hold-up budget. */
  complete: boolean;
  savedBytes: number;
  unsavedBytes: number;
  durationMs: number;
  holdUpMs: number;
  /** Generation of the newest complete image after the event. */
  generation: number;
}

export interface BackgroundFlushOptions {
  /** How often dirty pages are saved. Default 1000 ms. */
  intervalMs?: number;
}

export class Platform {
  private flushTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly target: PowerTarget) {}

  get poweredOn(): boolean {
    return this.target.poweredOn;
  }

  /**
   * The BIOS signals AC power loss. Work stops being admitted, in-flight work
   * reaches a safe point, and the pool is saved within `holdUpMs`; then power is
   * gone and memory is lost. If the save does not fit, the report says
   * `complete: false` and the previous complete image stays the one to restore.
   */
  async acPowerLoss(options: { holdUpMs: number }): Promise<PowerLossReport> {
    const holdUpMs = options?.holdUpMs;
    if (typeof holdUpMs !== 'number' || !Number.isFinite(holdUpMs) || holdUpMs < 0) {
      throw new InvalidArgumentError('holdUpMs must be a finite number of milliseconds >= 0', { holdUpMs });
    }
    if (!this.target.poweredOn) throw new PowerOffError();
    const deadline = performance.now() + holdUpMs;
    this.stopBackgroundFlush();
    this.target.quiesce();
    try {
      const save = this.target.save({ deadline });
      return {
        complete: save.complete,
        savedBytes: save.savedBytes,
        unsavedBytes: save.unsavedBytes,
        durationMs: save.durationMs,
        holdUpMs,
        generation: save.generation,
      };
    } finally {
      this.target.powerOff();
    }
  }

  /** AC power returns: the newest complete image is loaded and recovered. */
  async powerRestore(): Promise<RestoreReport> {
    return this.target.powerOn();
  }

  /** Saves dirty pages periodically, so that an AC-loss save has little left to write. */
  startBackgroundFlush(options: BackgroundFlushOptions = {}): void {
    const intervalMs = options.intervalMs ?? 1000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new InvalidArgumentError('intervalMs must be a positive number', { intervalMs });
    }
    this.stopBackgroundFlush();
    this.flushTimer = setInterval(() => {
      if (this.target.poweredOn && this.target.pendingBytes() > 0) this.target.save();
    }, intervalMs);
    this.flushTimer.unref?.();
  }

  stopBackgroundFlush(): void {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }
}
