/** A random-access file: what the image format needs from a backing store. */
export interface BlockFile {
  size(): number;
  /** Reads up to `into.length` bytes at `position`; returns how many were read (fewer only at end of file). */
  read(position: number, into: Uint8Array): number;
  write(position: number, data: Uint8Array): void;
  /** Makes every completed write durable (fdatasync for files). */
  sync(): void;
  close(): void;
}

/** Where a pool's images live: a file on Node, OPFS or IndexedDB in browsers, memory in tests. */
export interface BackingStore {
  /** Human-readable location (a path, or `memory:` for the memory store). */
  readonly location: string;
  exists(): boolean;
  /**
   * Creates the file atomically: `fill` writes its whole contents into a new
   * file of `size` bytes, which appears at the location only once complete and
   * durable. Throws PoolExistsError if a file exists there, unless `replace`.
   */
  create(size: number, fill: (file: BlockFile) => void, options?: { replace?: boolean }): void;
  open(mode: 'read' | 'write'): BlockFile;
  /**
   * The commit log beside the image (created empty if missing), for pools whose
   * commits must reach the store. With `direct`, writes of whole 4 KiB pages from
   * page-aligned memory may bypass the page cache where the store can (the log
   * of a pool that syncs every flush gains nothing from caching them).
   */
  openCommitLog(options?: { direct?: boolean }): BlockFile;
  /**
   * Takes the exclusive right to write this pool and returns its release. Throws
   * PoolLockedError while another open pool, here or in a live process, holds it.
   */
  lock(): () => void;
}
