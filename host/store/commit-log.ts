// The commit log: committed transactions' redo records appended to a file next
// to the image, so that a commit on a durable pool survives a process kill as
// soon as its record is synced. Each record is framed by a u32 length; a record
// validates itself (the core checks its checksum), so a torn tail ends the log.
// A successful image save covers every record, and the log is then emptied.
import type { BlockFile } from './block-file.js';

const FRAME = 8; // u32 length, u32 zero

export class CommitLog {
  private tail = 0;
  private pending: Uint8Array[] = [];

  constructor(private readonly file: BlockFile) {}

  /** The framed records from the start of the file, up to the first frame that cannot be read. */
  *records(): Generator<Uint8Array> {
    const size = this.file.size();
    const frame = new Uint8Array(FRAME);
    for (let at = 0; at + FRAME <= size; ) {
      this.file.read(at, frame);
      const length = new DataView(frame.buffer).getUint32(0, true);
      if (length === 0 || at + FRAME + length > size) return;
      const record = new Uint8Array(length);
      this.file.read(at + FRAME, record);
      yield record;
      at += FRAME + ((length + 7) & ~7);
    }
  }

  /** Queues a record; it is written by the next `flush`. */
  append(record: Uint8Array): void {
    this.pending.push(record);
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Writes the queued records in one write and, with `sync`, makes them durable with one fdatasync. */
  flush(sync: boolean): void {
    if (this.pending.length === 0) return;
    const bytes = this.pending.reduce((n, r) => n + FRAME + ((r.length + 7) & ~7), 0);
    const batch = new Uint8Array(bytes);
    const view = new DataView(batch.buffer);
    let at = 0;
    for (const record of this.pending) {
      view.setUint32(at, record.length, true);
      batch.set(record, at + FRAME);
      at += FRAME + ((record.length + 7) & ~7);
    }
    this.file.write(this.tail, batch);
    if (sync) this.file.sync();
    this.tail += bytes;
    this.pending = [];
  }

  /** Empties the log once an image holds every commit in it. */
  reset(): void {
    this.pending = [];
    this.tail = 0;
    this.file.truncate(0);
    this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}
