// The NVDIMM device model: media, write pending queues per memory controller,
// flush / fence / flush-hint, the persistence-domain rules of each personality,
// and crash injection.
import type { Core, CoreHooks } from '../core/core.js';
import type { DevicePersonality } from './personality.js';
import { seededRandom } from './prng.js';
import { WritePendingQueue } from './write-pending-queue.js';

const LINE_SIZE = 64;
const WORDS_PER_LINE = LINE_SIZE / 4;
const LINES_PER_PAGE = 4096 / LINE_SIZE;
const TEAR_UNIT = 8; // power-fail atomic unit: aligned 8 bytes

export interface DeviceCounters {
  linesFlushed: number;
  fences: number;
  flushHints: number;
  hostCalls: number;
  bytesSaved: number;
}

export interface CrashOptions {
  /** Seed of the random choices; the same seed at the same moment gives the same image. */
  seed: number;
  /** Chance that a dirty, unflushed line was written back before the crash (adr). Default 0.5. */
  persistProbability?: number;
  /** Chance that such a line is torn at 8-byte granularity rather than whole. Default 0.5. */
  tearProbability?: number;
}

/** Modelled memory controllers, each with its own write pending queue (lines interleave per 4 KiB). */
const CONTROLLERS = 2;
/** Lines a write pending queue holds before its oldest line drains to the media. */
const WPQ_CAPACITY = 64;

export class NvdimmDevice {
  private readonly wpqs: WritePendingQueue[];
  private hostCalls = 0;
  private bytesSaved = 0;
  private onFence: (() => void) | undefined;
  // Created once the memory has its final size; a pool's memory does not grow while it is open.
  private poolView: Uint8Array | undefined;
  private mediaView: Uint8Array | undefined;

  /** Linear-memory bytes a pool of this personality needs: adr keeps its media and write pending queues after the pool. */
  static memoryBytes(personality: DevicePersonality, poolBase: number, poolSize: number): number {
    if (personality !== 'adr') return poolBase + poolSize;
    return poolBase + poolSize * 2 + WritePendingQueue.bytes(CONTROLLERS, WPQ_CAPACITY, LINE_SIZE);
  }

  constructor(
    readonly personality: DevicePersonality,
    private readonly core: Core,
    private readonly memory: WebAssembly.Memory,
    private readonly poolBase: number,
    readonly poolSize: number,
  ) {
    const linear = {
      bytes: () => new Uint8Array(memory.buffer),
      copy: (dst: number, src: number, length: number) => core.mem_copy(dst, src, length),
    };
    const mediaAt = poolBase + poolSize;
    const slotsAt = mediaAt + poolSize;
    this.wpqs = Array.from(
      { length: CONTROLLERS },
      (_, i) => new WritePendingQueue(WPQ_CAPACITY, LINE_SIZE, linear, slotsAt + i * WPQ_CAPACITY * LINE_SIZE, poolBase, mediaAt),
    );
  }

  /** The pool as the CPU sees it (caches and DRAM). */
  get pool(): Uint8Array {
    return (this.poolView ??= new Uint8Array(this.memory.buffer, this.poolBase, this.poolSize));
  }

  /** The NVDIMM media (adr only; the other personalities keep their durable image in the pool itself). */
  get media(): Uint8Array | undefined {
    if (this.personality !== 'adr') return undefined;
    return (this.mediaView ??= new Uint8Array(this.memory.buffer, this.poolBase + this.poolSize, this.poolSize));
  }

  hooks(): CoreHooks {
    return { drainRing: () => this.drainRing(), flushHint: () => this.drainQueues() };
  }

  /**
   * Calls `callback` at every fence, before the flushed lines reach the
   * persistence domain (undefined stops it). For crash-state exploration.
   */
  traceFences(callback: (() => void) | undefined): void {
    this.onFence = callback;
    this.core.pm_set_fence_hook(callback ? 1 : 0);
  }

  private drainRing(): void {
    this.hostCalls++;
    this.onFence?.();
    const count = this.core.ring_count();
    const ringEntries = this.poolBase + Number(this.core.pool_ring_offset()) + LINE_SIZE;
    const runs = new Uint32Array(this.memory.buffer, ringEntries, count * 2);
    for (let i = 0; i < runs.length; i += 2) {
      let first = runs[i];
      const lines = runs[i + 1];
      // The durable image changed: its pages must go out with the next save.
      this.core.pm_mark_dirty(first * LINE_SIZE, lines * LINE_SIZE);
      // Each 4 KiB page's part of a run goes to its controller's queue in one copy.
      for (const end = first + lines; first < end; ) {
        const inPage = Math.min(end - first, LINES_PER_PAGE - (first % LINES_PER_PAGE));
        this.wpqs[Math.floor(first / LINES_PER_PAGE) % this.wpqs.length].pushRun(first, inPage);
        first += inPage;
      }
    }
    this.core.ring_clear();
  }

  private drainQueues(): number {
    this.hostCalls++;
    let drained = 0;
    for (const wpq of this.wpqs) drained += wpq.drain();
    return drained;
  }

  /** Makes the media equal the pool: after a load, and at a clean shutdown (caches written back). */
  writeBackAll(): void {
    const media = this.media;
    if (!media) return;
    for (const wpq of this.wpqs) wpq.clear();
    this.core.ring_clear();
    media.set(this.pool);
  }

  /**
   * The image that survives a power loss right now: for adr the media after ADR
   * drains the write pending queues; for eadr and nvdimm-n every completed store.
   */
  durableImage(): Uint8Array {
    const media = this.media;
    if (!media) return this.pool;
    for (const wpq of this.wpqs) wpq.drain();
    return media;
  }

  /** Lines queued in the write pending queues (adr). */
  queuedLines(): number {
    return this.wpqs.reduce((n, wpq) => n + wpq.size, 0);
  }

  /**
   * The crash image for the current moment. adr: media, plus the queued lines
   * (ADR drains them), plus a seeded random subset of the dirty lines that never
   * reached the domain, each possibly torn at 8-byte granularity. eadr and
   * nvdimm-n: every completed store (nvdimm-n assuming the platform's save fits
   * the hold-up budget; see Platform.acPowerLoss for the budgeted case).
   */
  crash(options: CrashOptions): Uint8Array {
    const pool = this.pool;
    const media = this.media;
    const image = new Uint8Array(this.poolSize);
    if (!media) {
      image.set(pool);
      return image;
    }
    image.set(media);
    for (const wpq of this.wpqs) for (const [line, bytes] of wpq.entries()) image.set(bytes, line * LINE_SIZE);
    const random = seededRandom(options.seed);
    const persistProbability = options.persistProbability ?? 0.5;
    const tearProbability = options.tearProbability ?? 0.5;
    const now = new Int32Array(this.memory.buffer, this.poolBase, this.poolSize / 4);
    const durable = new Int32Array(image.buffer);
    for (let word = 0; word < now.length; word += WORDS_PER_LINE) {
      let dirty = false;
      for (let i = word; i < word + WORDS_PER_LINE; i++) {
        if (now[i] !== durable[i]) {
          dirty = true;
          break;
        }
      }
      if (!dirty || random() >= persistProbability) continue;
      const offset = word * 4;
      if (random() < tearProbability) {
        for (let unit = offset; unit < offset + LINE_SIZE; unit += TEAR_UNIT) {
          if (random() < 0.5) image.set(pool.subarray(unit, unit + TEAR_UNIT), unit);
        }
      } else {
        image.set(pool.subarray(offset, offset + LINE_SIZE), offset);
      }
    }
    return image;
  }

  recordSaved(bytes: number): void {
    this.bytesSaved += bytes;
  }

  counters(): DeviceCounters {
    return {
      linesFlushed: Number(this.core.ctl_lines_flushed()),
      fences: Number(this.core.ctl_fences()),
      flushHints: Number(this.core.ctl_flush_hints()),
      hostCalls: this.hostCalls,
      bytesSaved: this.bytesSaved,
    };
  }
}
