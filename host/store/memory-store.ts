import { PoolExistsError, PoolNotFoundError } from '../errors.js';
import type { BackingStore, BlockFile } from './block-file.js';

/** The bytes of one in-memory file; tests may damage them on purpose. */
export class MemoryBytes {
  private buffer: Uint8Array = new Uint8Array(0);
  private length = 0;
  syncs = 0;

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

class MemoryFile implements BlockFile {
  constructor(private readonly file: MemoryBytes) {}

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
  }

  sync(): void {
    this.file.syncs++;
  }

  close(): void {}
}

/** Images held in memory, for tests and throwaway pools. Writes are durable as soon as they complete. */
export class MemoryStore implements BackingStore {
  readonly location = 'memory:';
  private image: MemoryBytes | undefined;
  private readonly log = new MemoryBytes();

  /** The image file's bytes; tests may damage them on purpose. */
  get bytes(): Uint8Array | undefined {
    return this.image?.bytes;
  }

  set bytes(bytes: Uint8Array) {
    this.image ??= new MemoryBytes();
    this.image.bytes = bytes;
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
    return new MemoryFile(this.image);
  }

  openCommitLog(): BlockFile {
    return new MemoryFile(this.log);
  }
}
