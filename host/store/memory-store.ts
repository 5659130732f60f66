import { seededRandom } from '../device/prng.js';
import { PoolExistsError, PoolNotFoundError } from '../errors.js';
import type { BackingStore, BlockFile } from './block-file.js';

const SECTOR = 512;

/** The bytes of one in-memory file; tests may damage them on purpose. */
class MemoryBytes {
  private buffer: Uint8Array = new Uint8Array(0);
  private length = 0;
  syncs = 0;
  /** With a power-loss model: the bytes as of the last sync, and the writes made since. */
  durable: Uint8Array | undefined;
  unsynced: Array<{ position: number; data: Uint8Array }> = [];

  get bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  set bytes(bytes: Uint8Array) {
    this.buffer = bytes;
    this.length = bytes.length;
  }

  /** Changes the length; the buffer grows geometrically so that appends cost amortised O(1). */
  resize(length: number): void {
    if (length > this.buffer.length) {
      const grown = new Uint8Array(Math.max(length, this.buffer.length * 2));
      grown.set(this.bytes);
      this.buffer = grown;
    } else if (length > this.length) {
      this.buffer.fill(0, this.length, length);
    }
    this.length = length;
  }
}

/** A file's bytes after a power cut: the synced bytes, and each later write in part or not at all. */
function afterPowerCut(file: MemoryBytes, random: () => number): Uint8Array {
  const durable = file.durable ?? file.bytes;
  const bytes = new Uint8Array(Math.max(durable.length, file.bytes.length));
  bytes.set(durable);
  for (const { position, data } of file.unsynced) {
    if (random() < 0.5) continue;
    for (let at = 0; at < data.length; at += SECTOR) {
      if (random() < 0.5) bytes.set(data.subarray(at, at + SECTOR), position + at);
    }
  }
  return bytes;
}

class MemoryFile implements BlockFile {
  constructor(
    private readonly file: MemoryBytes,
    private readonly onIo?: () => void,
  ) {}

  size(): number {
    return this.file.bytes.length;
  }

  read(position: number, into: Uint8Array): number {
    const bytes = this.file.bytes;
    const n = Math.max(0, Math.min(into.length, bytes.length - position));
    into.set(bytes.subarray(position, position + n));
    return n;
  }

  write(position: number, data: Uint8Array): void {
    if (position + data.length > this.file.bytes.length) this.file.resize(position + data.length);
    this.file.bytes.set(data, position);
    if (this.file.durable) this.file.unsynced.push({ position, data: data.slice() });
    this.onIo?.();
  }

  sync(): void {
    this.onIo?.();
    this.file.syncs++;
    if (this.file.durable) {
      this.file.durable = this.file.bytes.slice();
      this.file.unsynced = [];
    }
  }

  close(): void {}
}

/**
 * Images held in memory, for tests and throwaway pools. Writes are durable as
 * soon as they complete, unless the power-loss model is on: then only synced
 * writes are, and `crashStore` gives what a power cut at this moment could leave.
 */
export class MemoryStore implements BackingStore {
  readonly location = 'memory:';
  private image: MemoryBytes | undefined;
  private readonly log = new MemoryBytes();
  /** Called after every write and before every sync of the image file and the commit log (crash-state exploration). */
  onIo: (() => void) | undefined;

  /** Turns on the power-loss model for the image file and the commit log from now on. */
  modelPowerLoss(): void {
    if (!this.image) throw new PoolNotFoundError(this.location);
    for (const file of [this.image, this.log]) {
      file.durable = file.bytes.slice();
      file.unsynced = [];
    }
  }

  /**
   * A store holding what a power cut now could leave of both files: every
   * synced write, plus a seeded random subset of the writes since the last
   * sync, each torn at 512-byte sectors (any subset of its sectors reached the disk).
   */
  crashStore(seed: number): MemoryStore {
    if (!this.image?.durable) throw new PoolNotFoundError(this.location);
    const random = seededRandom(seed);
    const crashed = new MemoryStore();
    crashed.bytes = afterPowerCut(this.image, random);
    crashed.log.bytes = afterPowerCut(this.log, random);
    return crashed;
  }

  /** The image file's bytes; tests may damage them on purpose. */
  get bytes(): Uint8Array | undefined {
    return this.image?.bytes;
  }

  set bytes(bytes: Uint8Array) {
    this.image ??= new MemoryBytes();
    this.image.bytes = bytes;
  }

  /** The commit log's bytes; tests may damage them on purpose. */
  get logBytes(): Uint8Array {
    return this.log.bytes;
  }

  /** fdatasync calls on the image and the commit log. */
  get syncs(): number {
    return (this.image?.syncs ?? 0) + this.log.syncs;
  }

  exists(): boolean {
    return this.image !== undefined;
  }

  create(size: number, fill: (file: BlockFile) => void, options: { replace?: boolean } = {}): void {
    if (!options.replace && this.exists()) throw new PoolExistsError(this.location);
    const image = new MemoryBytes();
    image.resize(size);
    fill(new MemoryFile(image));
    this.image = image;
  }

  open(): BlockFile {
    if (!this.image) throw new PoolNotFoundError(this.location);
    return new MemoryFile(this.image, () => this.onIo?.());
  }

  openCommitLog(): BlockFile {
    return new MemoryFile(this.log, () => this.onIo?.());
  }

  /** No lock: tests reopen a memory store without closing it to stand for a process that died. */
  lock(): () => void {
    return () => {};
  }
}
