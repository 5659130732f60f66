// The commit log: committed transactions' redo records written to a file next
// to the image, so that a commit on a durable pool survives a process kill as
// soon as its record is synced. The file is preallocated and overwritten in
// place (an fdatasync then has no file size to journal). Each record is framed
// by its length, the generation of the image it follows and the image file's
// identity (a replaced or restored pool has another); once a newer image
// holds every commit, the log starts over at offset 0 under that generation, and
// older frames left behind are recognised by their generation. A record
// validates itself (the core checks its checksum), so a torn tail ends the log.
//
// Each frame also carries the session that wrote it (a random number per
// opening), and the log ends at the first frame of another session than the
// first frame's: after a crash whose first records were lost, a new session
// writes from the same offset again, and the old session's later records,
// valid and of the same generation, must never be read as following the new ones.
//
// Every flush writes whole pages from a page boundary: the batch starts with
// the already-written bytes of the log's last partial page (rewritten with the
// same values) and ends padded with zeros. A disk flushes a partly written page
// slowly, and with pages aligned in memory and in the file the store may write
// them without the page cache (O_DIRECT).
import type { BlockFile } from './block-file.js';

/** Where queued records wait for the next flush: a region of the core's linear memory, filled inside Wasm. */
export interface CommitBatch {
  /** A whole number of pages, page-aligned in linear memory. */
  view: Uint8Array;
  /** Copies `length` bytes between linear addresses. */
  copy(dst: number, src: number, length: number): void;
}

const FRAME = 24; // u32 record length, u32 image generation (low 32 bits), u64 image file identity, u64 session
const COMMIT_LOG_BYTES = 4 << 20;
/** The unit of every log write (a multiple of the disk's block size). */
export const LOG_PAGE = 4096;

const framed = (length: number) => FRAME + ((length + 7) & ~7);

export class CommitLog {
  private tail = 0;
  /** Bytes at the start of the batch that repeat the written part of the log's last page (`tail % LOG_PAGE`). */
  private carried = 0;
  /** Bytes of framed records in the batch after the carried ones, waiting for the next flush. */
  private batchBytes = 0;
  private readonly session = crypto.getRandomValues(new BigUint64Array(1))[0];

  /** Opens the log for the image of generation `epoch`, preallocating the file if it is new. */
  constructor(
    private readonly file: BlockFile,
    private epoch: number,
    private readonly identity: bigint,
    private readonly batch: CommitBatch,
  ) {
    const size = file.size();
    if (size < COMMIT_LOG_BYTES) {
      file.write(size, new Uint8Array(COMMIT_LOG_BYTES - size));
      file.sync();
    }
  }

  /** The records that follow the image of this log's generation, up to the first frame that does not, or that another session wrote. */
  *records(): Generator<Uint8Array> {
    const frame = new Uint8Array(FRAME);
    const view = new DataView(frame.buffer);
    let session: bigint | undefined;
    for (let at = 0; at + FRAME <= COMMIT_LOG_BYTES; ) {
      this.file.read(at, frame);
      const length = view.getUint32(0, true);
      const ours = view.getUint32(4, true) === this.epoch >>> 0 && view.getBigUint64(8, true) === this.identity;
      session ??= view.getBigUint64(16, true);
      if (length === 0 || !ours || view.getBigUint64(16, true) !== session || at + framed(length) > COMMIT_LOG_BYTES) return;
      const record = new Uint8Array(length);
      this.file.read(at + FRAME, record);
      yield record;
      at += framed(length);
    }
  }

  /** Whether the batch has room for a record of `length` bytes (if not, flush first). */
  hasRoomFor(length: number): boolean {
    return this.carried + this.batchBytes + framed(length) <= this.batch.view.length;
  }

  /** Queues a copy of the record at linear address `source`; it is written by the next `flush`. */
  append(source: number, length: number): void {
    const view = this.batch.view;
    if (!this.hasRoomFor(length)) throw new RangeError('the commit batch is full: flush it first');
    const at = this.carried + this.batchBytes;
    const frame = new DataView(view.buffer, view.byteOffset + at, FRAME);
    frame.setUint32(0, length, true);
    frame.setUint32(4, this.epoch >>> 0, true);
    frame.setBigUint64(8, this.identity, true);
    frame.setBigUint64(16, this.session, true);
    this.batch.copy(view.byteOffset + at + FRAME, source, length);
    view.fill(0, at + FRAME + length, at + framed(length));
    this.batchBytes += framed(length);
  }

  get hasPending(): boolean {
    return this.batchBytes > 0;
  }

  /** Whether the queued records fit; if not, a new image must take them and restart the log. */
  get fits(): boolean {
    return this.tail + this.batchBytes <= COMMIT_LOG_BYTES;
  }

  /** Writes the queued records in one write and, with `sync`, makes them durable with one fdatasync. */
  flush(sync: boolean): void {
    this.write();
    if (sync) this.file.sync();
  }

  private write(): void {
    if (this.batchBytes === 0) return;
    const view = this.batch.view;
    const filled = this.carried + this.batchBytes;
    const pages = Math.ceil(filled / LOG_PAGE) * LOG_PAGE;
    view.fill(0, filled, pages);
    this.file.write(this.tail - this.carried, view.subarray(0, pages));
    this.tail += this.batchBytes;
    // The new last page's written bytes lead the next batch.
    const lastPage = filled - (this.tail % LOG_PAGE);
    view.copyWithin(0, lastPage, filled);
    this.carried = this.tail % LOG_PAGE;
    this.batchBytes = 0;
  }

  /** Starts over once the image of generation `epoch` holds every commit in the log. */
  reset(epoch: number): void {
    this.epoch = epoch;
    this.tail = 0;
    this.carried = 0;
    this.batchBytes = 0;
  }

  close(): void {
    this.file.close();
  }
}
