// Typed errors. Every error the runtime throws on purpose is a PmemError with a
// stable `code`; callers branch on `code`, never on the message.

export class PmemError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** An argument has the wrong type or value. */
export class InvalidArgumentError extends PmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('EINVAL', message, details);
  }
}

/** An offset or length falls outside the pool's data region. */
export class OutOfBoundsError extends PmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('EBOUNDS', message, details);
  }
}

/** No pool exists at the given path and `create` was not requested. */
export class PoolNotFoundError extends PmemError {
  constructor(path: string) {
    super('ENOENT', `no pool at ${path}`, { path });
  }
}

/** A file exists where a new pool or snapshot was to be created. */
export class PoolExistsError extends PmemError {
  constructor(path: string) {
    super('EEXIST', `${path} already exists`, { path });
  }
}

/** The file is not a wasm-pmem image at all. */
export class ForeignFileError extends PmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('EFOREIGN', message, details);
  }
}

/** The file was written by a newer, unknown format version. */
export class NewerFormatError extends PmemError {
  constructor(version: number, supported: number) {
    super('ENEWERFORMAT', `image format version ${version} is newer than the supported version ${supported}`, {
      version,
      supported,
    });
  }
}

/** The file is shorter than its header says. */
export class TruncatedFileError extends PmemError {
  constructor(actual: number, expected: number) {
    super('ETRUNCATED', `image file is truncated: ${actual} bytes, expected at least ${expected}`, {
      actual,
      expected,
    });
  }
}

/** A checksum does not match: a header, a slot record, a manifest or a page is damaged. */
export class CorruptImageError extends PmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ECORRUPT', message, details);
  }
}

/** The file holds no complete, valid image to load. */
export class NoImageError extends PmemError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ENOIMAGE', message, details);
  }
}

/** The pool was opened with a device personality other than the one it was created with. */
export class DeviceMismatchError extends PmemError {
  constructor(requested: string, actual: string) {
    super('EDEVICE', `pool was created for device '${actual}', not '${requested}'`, { requested, actual });
  }
}

/** The platform is off (after an AC power loss): no work is admitted until power is restored. */
export class PowerOffError extends PmemError {
  constructor() {
    super('EPOWEROFF', 'the platform lost AC power; call platform.powerRestore() first');
  }
}

/** The pool was closed. */
export class PoolClosedError extends PmemError {
  constructor() {
    super('ECLOSED', 'the pool is closed');
  }
}

/** A transaction was begun inside another, or raw writes were attempted while one is open. */
export class NestedTransactionError extends PmemError {
  constructor(message = 'a transaction is already open on this pool') {
    super('ETXNESTED', message);
  }
}

/** A read-only transaction tried to write, allocate, free or set the root. */
export class ReadOnlyTransactionError extends PmemError {
  constructor() {
    super('EROFS', 'the transaction is read-only');
  }
}

/** The transaction has already committed or aborted. */
export class TransactionFinishedError extends PmemError {
  constructor() {
    super('ETXDONE', 'the transaction has already finished');
  }
}

/** The transaction's writes do not fit its journal or undo log. */
export class TransactionTooLargeError extends PmemError {
  constructor(details: Record<string, unknown> = {}) {
    super('ETXTOOLARGE', 'the transaction is too large for its journal or undo log', details);
  }
}

/** The heap cannot satisfy an allocation. */
export class NoSpaceError extends PmemError {
  constructor(size: number) {
    super('ENOSPC', `the heap has no room for ${size} bytes`, { size });
  }
}

/** The offset is not the start of an allocated block. */
export class InvalidPointerError extends PmemError {
  constructor(offset: number) {
    super('EBADPTR', `${offset} is not the start of an allocated block`, { offset });
  }
}

/** The block was already freed. */
export class DoubleFreeError extends PmemError {
  constructor(offset: number) {
    super('EDOUBLEFREE', `the block at ${offset} is already free`, { offset });
  }
}

/** Another open pool, in this process or a live one (or, in a browser, another tab or worker), holds the pool file. */
export class PoolLockedError extends PmemError {
  constructor(path: string, pid?: number) {
    super('EBUSY', `${path} is open ${pid === undefined ? 'already (in this or another tab or worker)' : `in process ${pid}`}`, { path, pid });
  }
}

/** A cache that does not evict is full. */
export class CacheFullError extends PmemError {
  constructor(name: string) {
    super('EFULL', `cache ${name} is full and does not evict`, { name });
  }
}

/** A key, value or name is longer than its documented maximum. */
export class SizeLimitError extends PmemError {
  constructor(what: string, limit: number) {
    super('E2BIG', `the ${what} is longer than ${limit} bytes`, { what, limit });
  }
}

/** A transaction or save waited longer than its bound for another thread's to finish. */
export class LockTimeoutError extends PmemError {
  constructor(timeoutMs: number) {
    super('ETIMEDOUT', `waited ${timeoutMs} ms for the pool's transaction lock`, { timeoutMs });
  }
}

/** A synchronous call found the transaction lock held, on a thread that may not wait (a browser's main thread). */
export class LockBusyError extends PmemError {
  constructor() {
    super('EAGAIN', "another thread holds the pool's transaction lock and this thread may not wait for it: use the async form (pool.tx)");
  }
}
