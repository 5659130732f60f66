import { PoolExistsError, PoolNotFoundError } from '../errors.js';
import type { BackingStore, BlockFile } from './block-file.js';

class MemoryFile implements BlockFile {
  constructor(private readonly store: MemoryStore) {}

  size(): number {
    return this.store.bytes!.length;
  }

  read(position: number, into: Uint8Array): number {
    const bytes = this.store.bytes!;
    const n = Math.max(0, Math.min(into.length, bytes.length - position));
    into.set(bytes.subarray(position, position + n));
    return n;
  }

  write(position: number, data: Uint8Array): void {
    let bytes = this.store.bytes!;
    if (position + data.length > bytes.length) {
      const grown = new Uint8Array(position + data.length);
      grown.set(bytes);
      this.store.bytes = bytes = grown;
    }
    bytes.set(data, position);
  }

  sync(): void {
    this.store.syncs++;
  }

  close(): void {}
}

/** Images held in memory, for tests and throwaway pools. Writes are durable as soon as they complete. */
export class MemoryStore implements BackingStore {
  readonly location = 'memory:';
  /** The file's bytes; tests may damage them on purpose. */
  bytes: Uint8Array | undefined;
  syncs = 0;

  exists(): boolean {
    return this.bytes !== undefined;
  }

  create(size: number, fill: (file: BlockFile) => void, options: { replace?: boolean } = {}): void {
    if (!options.replace && this.exists()) throw new PoolExistsError(this.location);
    const previous = this.bytes;
    this.bytes = new Uint8Array(size);
    try {
      fill(new MemoryFile(this));
    } catch (error) {
      this.bytes = previous;
      throw error;
    }
  }

  open(): BlockFile {
    if (!this.bytes) throw new PoolNotFoundError(this.location);
    return new MemoryFile(this);
  }
}
