// A pool's image file and commit log in a browser's origin private file system
// (OPFS), through synchronous access handles. Browsers give those only to
// dedicated Workers, so a pool on OPFS is owned by a Worker; the page attaches
// to it (`pool.workerHandle()` there, `AttachedPool.attach` here).
//
// A sync access handle is exclusive: while this store holds its two handles, no
// other tab or worker can open the pool. That is the store's cross-context lock.
import { PmemError, PoolExistsError, PoolLockedError, PoolNotFoundError } from '../errors.js';
import type { BackingStore, BlockFile } from './block-file.js';

/** The part of FileSystemSyncAccessHandle the store uses (the DOM lib types it for workers only). */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

interface SyncAccessFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
}

/** A file is complete once its first bytes (the image format's magic) are written: creation writes them last. */
const HEAD_BYTES = 8;

class OpfsFile implements BlockFile {
  constructor(private readonly handle: SyncAccessHandle) {}

  size(): number {
    return this.handle.getSize();
  }

  read(position: number, into: Uint8Array): number {
    let done = 0;
    while (done < into.length) {
      const n = this.handle.read(into.subarray(done), { at: position + done });
      if (n <= 0) break;
      done += n;
    }
    return done;
  }

  write(position: number, data: Uint8Array): void {
    for (let done = 0; done < data.length; ) {
      const n = this.handle.write(data.subarray(done), { at: position + done });
      if (n <= 0) throw new PmemError('EIO', `OPFS write of ${data.length} bytes at ${position} stopped after ${done}`);
      done += n;
    }
  }

  sync(): void {
    this.handle.flush();
  }

  /** The store owns the handle: it stays open until the store closes. */
  close(): void {}
}

/** A file under creation: its first HEAD_BYTES are held back and written once everything else is durable. */
class CreatingFile extends OpfsFile {
  readonly head = new Uint8Array(HEAD_BYTES);

  override write(position: number, data: Uint8Array): void {
    const held = Math.max(0, Math.min(HEAD_BYTES - position, data.length));
    if (held > 0) this.head.set(data.subarray(0, held), position);
    if (held < data.length) super.write(position + held, data.subarray(held));
  }
}

export class OpfsStore implements BackingStore {
  readonly location: string;
  private locked = false;
  private closed = false;

  private constructor(
    name: string,
    private readonly image: SyncAccessHandle,
    private readonly log: SyncAccessHandle,
  ) {
    this.location = `opfs:${name}`;
  }

  /**
   * Opens the pool file `name` (and its commit log `name.log`) in the origin
   * private file system, or in `directory` when given; in a dedicated Worker
   * only. Fails with EBUSY (PoolLockedError) while another tab or worker has it open.
   */
  static async open(name: string, options: { directory?: FileSystemDirectoryHandle } = {}): Promise<OpfsStore> {
    const directory = options.directory ?? (await navigator.storage.getDirectory());
    const openHandle = async (file: string) => {
      const handle = (await directory.getFileHandle(file, { create: true })) as unknown as SyncAccessFileHandle;
      if (typeof handle.createSyncAccessHandle !== 'function') {
        throw new PmemError('ENOTSUP', 'OPFS synchronous access needs a dedicated Worker: open the pool there and attach to it');
      }
      try {
        return await handle.createSyncAccessHandle();
      } catch (error) {
        if ((error as DOMException).name === 'NoModificationAllowedError') throw new PoolLockedError(`opfs:${name}`);
        throw error;
      }
    };
    const image = await openHandle(name);
    try {
      return new OpfsStore(name, image, await openHandle(`${name}.log`));
    } catch (error) {
      image.close();
      throw error;
    }
  }

  private usable(): void {
    if (this.closed) throw new PmemError('ECLOSED', `the store ${this.location} is closed`);
  }

  exists(): boolean {
    this.usable();
    if (this.image.getSize() < HEAD_BYTES) return false;
    const head = new Uint8Array(HEAD_BYTES);
    new OpfsFile(this.image).read(0, head);
    return head.some((byte) => byte !== 0);
  }

  /** Creates the pool file; `replace` over an existing pool is not supported (it could not be atomic here). */
  create(size: number, fill: (file: BlockFile) => void, options: { replace?: boolean } = {}): void {
    this.usable();
    if (this.exists()) {
      if (!options.replace) throw new PoolExistsError(this.location);
      throw new PmemError('ENOTSUP', `replacing the pool on ${this.location} is not supported: delete it first`);
    }
    // Any earlier, incomplete attempt goes; the file is a pool once its head is written, last.
    this.image.truncate(0);
    this.image.truncate(size);
    const file = new CreatingFile(this.image);
    fill(file);
    file.sync();
    new OpfsFile(this.image).write(0, file.head);
    this.image.flush();
  }

  open(): BlockFile {
    if (!this.exists()) throw new PoolNotFoundError(this.location);
    return new OpfsFile(this.image);
  }

  openCommitLog(): BlockFile {
    this.usable();
    return new OpfsFile(this.log);
  }

  /** One open pool at a time in this context; other contexts are kept out by the handles themselves. */
  lock(): () => void {
    this.usable();
    if (this.locked) throw new PoolLockedError(this.location);
    this.locked = true;
    return () => {
      this.locked = false;
    };
  }

  /** Closes the handles, so that another tab or worker can open the pool (close the pool first). */
  close(): void {
    if (this.closed) return;
    if (this.locked) throw new PmemError('EBUSY', `the pool on ${this.location} is still open: close it first`);
    this.closed = true;
    this.image.close();
    this.log.close();
  }
}
