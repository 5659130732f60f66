import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { PoolExistsError, PoolLockedError, PoolNotFoundError } from '../errors.js';
import type { BackingStore, BlockFile } from './block-file.js';

class NodeFile implements BlockFile {
  /**
   * @param directFd the same file opened with O_DIRECT: writes of whole aligned
   * pages go through it, past the page cache, unless the kernel refuses them.
   */
  constructor(
    private readonly fd: number,
    private readonly directFd?: number,
  ) {}

  size(): number {
    return fs.fstatSync(this.fd).size;
  }

  read(position: number, into: Uint8Array): number {
    let done = 0;
    while (done < into.length) {
      const n = fs.readSync(this.fd, into, done, into.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(position: number, data: Uint8Array): void {
    if (this.directFd !== undefined && position % DIRECT_ALIGNMENT === 0 && data.length % DIRECT_ALIGNMENT === 0) {
      try {
        writeAll(this.directFd, position, data);
        return;
      } catch (error) {
        // EINVAL: memory the kernel cannot transfer directly (not page-aligned); this write goes through the cache.
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
      }
    }
    writeAll(this.fd, position, data);
  }

  sync(): void {
    fs.fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.directFd !== undefined) fs.closeSync(this.directFd);
    fs.closeSync(this.fd);
  }
}

const DIRECT_ALIGNMENT = 4096;

function writeAll(fd: number, position: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/** The file opened for O_DIRECT writes, or undefined where the platform or file system has none. */
function openDirect(path: string): number | undefined {
  const direct = fs.constants.O_DIRECT;
  if (direct === undefined) return undefined;
  try {
    return fs.openSync(path, fs.constants.O_WRONLY | direct);
  } catch {
    return undefined;
  }
}

function readIfPresent(path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether a process with this ID exists (signal 0 tests without signalling). */
function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function syncDirectory(path: string): void {
  const fd = fs.openSync(dirname(path), 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Pool images in a file on Node, written with real fdatasync. */
export class NodeFileStore implements BackingStore {
  constructor(readonly location: string) {}

  exists(): boolean {
    return fs.existsSync(this.location);
  }

  create(size: number, fill: (file: BlockFile) => void, options: { replace?: boolean } = {}): void {
    if (!options.replace && this.exists()) throw new PoolExistsError(this.location);
    fs.mkdirSync(dirname(this.location), { recursive: true });
    const temporary = `${this.location}.creating-${process.pid}-${Date.now()}`;
    const fd = fs.openSync(temporary, 'wx+');
    try {
      fs.ftruncateSync(fd, size);
      fill(new NodeFile(fd));
      fs.fsyncSync(fd);
    } catch (error) {
      fs.closeSync(fd);
      fs.rmSync(temporary, { force: true });
      throw error;
    }
    fs.closeSync(fd);
    try {
      if (options.replace) {
        fs.renameSync(temporary, this.location);
      } else {
        // link() refuses to replace an existing file, unlike rename().
        fs.linkSync(temporary, this.location);
        fs.unlinkSync(temporary);
      }
    } catch (error) {
      fs.rmSync(temporary, { force: true });
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new PoolExistsError(this.location);
      throw error;
    }
    syncDirectory(this.location);
  }

  openCommitLog(options: { direct?: boolean } = {}): BlockFile {
    const path = `${this.location}.log`;
    const existed = fs.existsSync(path);
    const fd = fs.openSync(path, existed ? 'r+' : 'w+');
    if (!existed) syncDirectory(path);
    return new NodeFile(fd, options.direct ? openDirect(path) : undefined);
  }

  /**
   * A lock file beside the pool holds the owner's process ID. One left by a
   * process that died (a kill, a crash) is stale and taken over.
   */
  lock(): () => void {
    const path = `${this.location}.lock`;
    fs.mkdirSync(dirname(path), { recursive: true });
    for (;;) {
      try {
        fs.writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        return () => fs.rmSync(path, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = Number.parseInt(readIfPresent(path), 10);
      if (owner === process.pid || processIsAlive(owner)) throw new PoolLockedError(this.location, owner);
      fs.rmSync(path, { force: true });
    }
  }

  open(mode: 'read' | 'write'): BlockFile {
    try {
      return new NodeFile(fs.openSync(this.location, mode === 'read' ? 'r' : 'r+'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new PoolNotFoundError(this.location);
      throw error;
    }
  }
}
