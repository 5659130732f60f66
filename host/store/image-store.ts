// A/B image slots with per-page checksums, plus a delta log for incremental saves.
//
// Each slot tracks which of its base pages differ from the pool ("pending"): a
// store marks a page pending in both slots, a full save into a slot writes its
// pending pages in place and clears them. A full save always targets the slot
// that does not hold the newest image and commits by writing that slot's record
// block after its data and manifest are durable.
//
// An incremental save gathers the pages dirtied since the last save into one
// checksummed delta segment appended after the newest slot's base: one
// sequential write and one fdatasync. Segments name their base and sequence
// number; loading applies the chain over the base and stops at the first
// segment that does not validate, the one a crash cut short (it was never
// acknowledged). The image's generation is its base's plus the segments on it.
// When the delta area is full, the next save is a full one.
import { CorruptImageError, NoImageError, TruncatedFileError } from '../errors.js';
import type { BackingStore, BlockFile } from './block-file.js';
import { type Checksummer, sameChecksums } from './checksum.js';
import {
  HEADER_SIZE, MANIFEST_SEED, RECORD_BLOCK_SIZE, SEGMENT_HEADER, type ImageGeometry, type ImageLayout,
  type SegmentHeader, type SlotRecord, decodeHeader, decodeRecordBlock, decodeSegmentHead, encodeHeader, encodeRecordBlock,
  encodeSegmentHead, layoutFor, segmentBytes, segmentPageCount,
} from './image-format.js';

/** Pages per write and per checksum batch: 16 MiB. */
const CHUNK_PAGES = 4096;

export interface SlotInfo {
  slot: number;
  state: 'complete' | 'writing' | 'invalid';
  generation: number;
  savedAtMs: number;
  /** Record copies that failed their checksum (a damaged sector, or a torn record update). */
  damagedCopies: number;
  /**
   * Why the slot cannot be loaded, when it cannot. A complete slot with a
   * problem (a damaged manifest) still counts when choosing the newest image,
   * so damage is reported rather than silently replaced by older data.
   */
  problem?: string;
}

export type ProgressCallback = (doneBytes: number, totalBytes: number) => void;

export interface SaveOptions {
  /** Write every page, not only the pending ones. */
  full?: boolean;
  /** `performance.now()` time by which the save must be durable; past it the save stops incomplete. */
  deadline?: number;
  onProgress?: ProgressCallback;
}

export interface SaveReport {
  complete: boolean;
  /** 'delta' appended a segment of changed pages; 'full' rewrote the older slot. */
  kind: 'delta' | 'full';
  slot: number;
  generation: number;
  savedBytes: number;
  unsavedBytes: number;
  durationMs: number;
}

export interface LoadReport {
  slot: number;
  generation: number;
  savedAtMs: number;
  bytes: number;
  durationMs: number;
}

interface Slot {
  info: SlotInfo;
  record: SlotRecord | undefined;
  manifest: Uint8Array;
  pending: Uint8Array;
}

/** A delta segment of the newest image: where it is and which pages it holds. */
interface Segment {
  offset: number;
  headBytes: number;
  pages: Uint32Array;
  sums: Uint8Array;
}

function readExactly(file: BlockFile, position: number, into: Uint8Array, fileSize: number): void {
  if (file.read(position, into) !== into.length) throw new TruncatedFileError(fileSize, position + into.length);
}

function isZero(bytes: Uint8Array): boolean {
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** The pages whose flag is set, in ascending order. */
function flagged(flags: Uint8Array): Uint32Array {
  const pages = new Uint32Array(flags.reduce((n, flag) => n + flag, 0));
  for (let page = 0, i = 0; i < pages.length; page++) if (flags[page]) pages[i++] = page;
  return pages;
}

/** Yields runs [first, first + count) of consecutive pages whose flag is set, at most `max` long. */
function* runs(flags: Uint8Array, max: number): Generator<[number, number]> {
  for (let page = 0; page < flags.length; ) {
    if (!flags[page]) {
      page++;
      continue;
    }
    const first = page;
    while (page < flags.length && flags[page] && page - first < max) page++;
    yield [first, page - first];
  }
}

export class ImageStore {
  private readonly slots: Slot[];
  /** Pages changed since the last complete save of either kind: what the next delta segment holds. */
  private readonly dirty: Uint8Array;
  /** The newest image's delta segments, in order, and where the next one goes. */
  private segments: Segment[] = [];
  private deltaEnd = 0;
  private gather = new Uint8Array(0);

  private constructor(
    private readonly file: BlockFile,
    readonly geometry: ImageGeometry,
    readonly layout: ImageLayout,
    private readonly checksummer: Checksummer,
  ) {
    this.slots = [0, 1].map((slot) => this.readSlot(slot));
    this.dirty = new Uint8Array(geometry.pageCount);
    this.scanSegments();
    const newest = this.newestSlot();
    for (const slot of this.slots) {
      const usable = slot.info.state === 'complete' && !slot.info.problem;
      if (newest !== undefined && usable && !this.slots[newest].info.problem && slot !== this.slots[newest]) {
        this.diffManifests(slot, this.slots[newest]);
      } else if (slot.info.slot !== newest) {
        slot.pending.fill(1);
      }
    }
  }

  /** Creates a new image file whose two slots both hold `source`. */
  static create(
    store: BackingStore,
    geometry: ImageGeometry,
    source: Uint8Array,
    checksummer: Checksummer,
    options: { replace?: boolean } = {},
  ): void {
    const layout = layoutFor(geometry.pageCount, geometry.pageSize);
    const { pageSize, pageCount } = geometry;
    store.create(
      layout.fileSize,
      (file) => {
        file.write(0, encodeHeader(geometry, checksummer));
        const manifest = new Uint8Array(layout.manifestBytes);
        checksummer.hashPages(source, 0, pageCount, manifest);
        // The file starts out as zeros, so only non-zero pages need writing.
        for (let page = 0; page < pageCount; page++) {
          const bytes = source.subarray(page * pageSize, (page + 1) * pageSize);
          if (isZero(bytes)) continue;
          for (const slot of [0, 1]) file.write(layout.dataOffset[slot] + page * pageSize, bytes);
        }
        // The delta area is written once now, so that incremental saves overwrite blocks the file already
        // has: appending into new blocks cost this disk several times more than overwriting.
        const zeros = new Uint8Array(Math.min(layout.deltaBytes, CHUNK_PAGES * pageSize));
        for (let at = 0; at < layout.deltaBytes; at += zeros.length) {
          file.write(layout.deltaOffset + at, zeros.subarray(0, Math.min(zeros.length, layout.deltaBytes - at)));
        }
        const manifestHash = checksummer.hashBytes(manifest, MANIFEST_SEED);
        const savedAtMs = Date.now();
        for (const slot of [0, 1]) {
          file.write(layout.manifestOffset[slot], manifest);
          const record: SlotRecord = { slot, state: 'complete', generation: 1 - slot, savedAtMs, manifestHash, segments: 0 };
          file.write(layout.recordOffset[slot], encodeRecordBlock(record, checksummer));
        }
      },
      options,
    );
  }

  /** Opens an image file, validating its header; throws a typed error for anything that is not a sound image. */
  static open(store: BackingStore, mode: 'read' | 'write', checksummer: Checksummer): ImageStore {
    const file = store.open(mode);
    try {
      const size = file.size();
      const header = new Uint8Array(Math.min(HEADER_SIZE, size));
      file.read(0, header);
      const { geometry, layout } = decodeHeader(header, size, checksummer);
      return new ImageStore(file, geometry, layout, checksummer);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  private readSlot(slot: number): Slot {
    const { layout, checksummer, geometry } = this;
    const size = this.file.size();
    const block = new Uint8Array(RECORD_BLOCK_SIZE);
    readExactly(this.file, layout.recordOffset[slot], block, size);
    const { record, damagedCopies } = decodeRecordBlock(block, slot, checksummer);
    const manifest = new Uint8Array(layout.manifestBytes);
    readExactly(this.file, layout.manifestOffset[slot], manifest, size);
    const info: SlotInfo = {
      slot,
      state: record?.state ?? 'invalid',
      generation: record?.generation ?? 0,
      savedAtMs: record?.savedAtMs ?? 0,
      damagedCopies,
    };
    if (!record) {
      info.problem = 'every copy of the slot record is damaged';
    } else if (record.state === 'writing') {
      info.problem = 'a save into this slot did not finish';
    } else if (checksummer.hashBytes(manifest, MANIFEST_SEED) !== record.manifestHash) {
      info.problem = 'the page manifest is damaged (checksum mismatch)';
    }
    return { info, record, manifest, pending: new Uint8Array(geometry.pageCount) };
  }

  private diffManifests(slot: Slot, newest: Slot): void {
    const a = new Uint32Array(slot.manifest.buffer);
    const b = new Uint32Array(newest.manifest.buffer);
    for (let page = 0; page < slot.pending.length; page++) {
      slot.pending[page] = a[2 * page] !== b[2 * page] || a[2 * page + 1] !== b[2 * page + 1] ? 1 : 0;
    }
  }

  slotInfo(): SlotInfo[] {
    return this.slots.map((slot) => ({ ...slot.info }));
  }

  /** The generation of the newest complete image: its base's plus its delta segments (0 if there is none). */
  generation(): number {
    const newest = this.newestSlot();
    return newest === undefined ? 0 : this.slots[newest].info.generation + this.segments.length;
  }

  /** Reads the chain of delta segments on the newest base: headers and indexes, up to the first that does not validate. */
  private scanSegments(): void {
    this.segments = [];
    this.deltaEnd = 0;
    const newest = this.newestSlot();
    if (newest === undefined || this.slots[newest].info.problem) return;
    const base = this.slots[newest].info.generation;
    for (;;) {
      const segment = this.readSegmentHead(this.deltaEnd);
      if (!segment || segment.baseGeneration !== base || segment.seq !== this.segments.length + 1) break;
      this.segments.push({ offset: this.deltaEnd, headBytes: segment.headBytes, pages: segment.pages, sums: segment.sums });
      this.deltaEnd += segment.headBytes + segment.pages.length * this.geometry.pageSize;
    }
    // A valid first segment on a base newer than every readable slot means the newest slot's record was destroyed:
    // loading the older slot would silently lose that image.
    const first = this.segments.length === 0 ? this.readSegmentHead(0) : undefined;
    if (first && first.baseGeneration > Math.max(...this.slots.map((s) => s.info.generation))) {
      throw new CorruptImageError('the record of the newest image is damaged (a newer delta segment names it)', {
        where: 'record',
      });
    }
  }

  /** The header and index of the delta segment at `offset` in the delta area, if one validates there. */
  private readSegmentHead(offset: number): (SegmentHeader & { headBytes: number }) | undefined {
    const { pageSize } = this.geometry;
    if (offset + SEGMENT_HEADER > this.layout.deltaBytes) return undefined;
    const header = new Uint8Array(SEGMENT_HEADER);
    this.file.read(this.layout.deltaOffset + offset, header);
    const pageCount = segmentPageCount(header);
    if (pageCount === undefined || offset + segmentBytes(pageCount, pageSize) > this.layout.deltaBytes) return undefined;
    const head = new Uint8Array(segmentBytes(pageCount, pageSize) - pageCount * pageSize);
    this.file.read(this.layout.deltaOffset + offset, head);
    const segment = decodeSegmentHead(head, this.checksummer);
    return segment && { ...segment, headBytes: head.length };
  }

  /** The slot holding the newest complete image, if any. */
  newestSlot(): number | undefined {
    let newest: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.info.state === 'complete' && (!newest || slot.info.generation > newest.info.generation)) newest = slot;
    }
    return newest?.info.slot;
  }

  /** Marks pages dirty: bit `p` of `bitmap` set means page `p` changed since the last save. */
  markDirty(bitmap: Uint32Array): void {
    const [a, b] = this.slots;
    for (let word = 0; word < bitmap.length; word++) {
      let bits = bitmap[word];
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits);
        bits &= ~(1 << bit);
        const page = word * 32 + bit;
        if (page < a.pending.length) a.pending[page] = b.pending[page] = this.dirty[page] = 1;
      }
    }
  }

  /** Pages changed since the last save. */
  pendingPages(): number {
    return this.dirty.reduce((n, flag) => n + flag, 0);
  }

  private targetSlot(): number {
    const newest = this.newestSlot();
    return newest === undefined ? 0 : 1 - newest;
  }

  /**
   * Loads the newest complete image into `dest`, verifying every page's checksum.
   * A damaged page is an error, never a silent fallback to older data.
   */
  load(dest: Uint8Array, onProgress?: ProgressCallback): LoadReport {
    const started = performance.now();
    const newest = this.newestSlot();
    if (newest === undefined) {
      throw new NoImageError('the file holds no complete image', { slots: this.slotInfo() });
    }
    this.verifySlot(newest, dest, onProgress);
    const slot = this.slots[newest];
    if (this.segments.length < slot.record!.segments) {
      throw new CorruptImageError(`delta segment ${this.segments.length + 1} of the newest image is damaged`, {
        where: 'segment',
        segment: this.segments.length + 1,
      });
    }
    slot.pending.fill(0);
    // Pages the segments changed differ from both slots' base pages.
    for (const page of this.applySegments(dest)) this.slots[0].pending[page] = this.slots[1].pending[page] = 1;
    this.dirty.fill(0);
    return {
      slot: newest,
      generation: this.generation(),
      savedAtMs: slot.info.savedAtMs,
      bytes: this.geometry.poolSize,
      durationMs: performance.now() - started,
    };
  }

  /** Reads slot `slot` into `dest` and checks every page against its manifest. */
  verifySlot(slotIndex: number, dest: Uint8Array, onProgress?: ProgressCallback): void {
    const { pageSize, pageCount, poolSize } = this.geometry;
    const slot = this.slots[slotIndex];
    if (slot.info.problem) {
      throw new CorruptImageError(`image slot ${slotIndex}: ${slot.info.problem}`, { where: 'slot', slot: slotIndex });
    }
    const sums = new Uint8Array(CHUNK_PAGES * 8);
    const expected = new Uint32Array(slot.manifest.buffer);
    const actual = new Uint32Array(sums.buffer);
    const size = this.file.size();
    for (let first = 0; first < pageCount; first += CHUNK_PAGES) {
      const n = Math.min(CHUNK_PAGES, pageCount - first);
      const bytes = dest.subarray(first * pageSize, (first + n) * pageSize);
      readExactly(this.file, this.layout.dataOffset[slotIndex] + first * pageSize, bytes, size);
      this.checksummer.hashPages(dest, first, n, sums);
      for (let i = 0; i < n; i++) {
        const page = first + i;
        if (actual[2 * i] !== expected[2 * page] || actual[2 * i + 1] !== expected[2 * page + 1]) {
          throw new CorruptImageError(`page ${page} of image slot ${slotIndex} is damaged (checksum mismatch)`, {
            where: 'page',
            slot: slotIndex,
            page,
            poolOffset: page * pageSize,
          });
        }
      }
      onProgress?.((first + n) * pageSize, poolSize);
    }
  }

  /**
   * Applies the delta segments over the base pages in `dest`, verifying each
   * page; returns the pages they changed. A last segment whose pages do not
   * match its index was cut short by a crash and is dropped; a damaged segment
   * with a valid one after it was acknowledged, and is an error.
   */
  private applySegments(dest: Uint8Array): Set<number> {
    const { pageSize } = this.geometry;
    const changed = new Set<number>();
    for (const [i, segment] of this.segments.entries()) {
      const n = segment.pages.length;
      const pages = new Uint8Array(n * pageSize);
      this.file.read(this.layout.deltaOffset + segment.offset + segment.headBytes, pages);
      const sums = new Uint8Array(n * 8);
      this.checksummer.hashPages(pages, 0, n, sums);
      if (!sameChecksums(sums, segment.sums)) {
        if (i < this.segments.length - 1 || i < this.slots[this.newestSlot()!].record!.segments) {
          throw new CorruptImageError(`delta segment ${i + 1} of the newest image is damaged (page checksum)`, {
            where: 'segment',
            segment: i + 1,
          });
        }
        this.segments.pop();
        this.deltaEnd = segment.offset;
        break;
      }
      segment.pages.forEach((page, k) => {
        dest.set(pages.subarray(k * pageSize, (k + 1) * pageSize), page * pageSize);
        changed.add(page);
      });
    }
    return changed;
  }

  /**
   * Saves `source` (the pool's durable image): as a delta segment on the newest
   * slot when it fits, otherwise (or with `full`) into the older slot.
   */
  save(source: Uint8Array, options: SaveOptions = {}): SaveReport {
    const newest = this.newestSlot();
    if (!options.full && newest !== undefined && !this.slots[newest].info.problem) {
      const pages = flagged(this.dirty);
      const end = this.deltaEnd + segmentBytes(pages.length, this.geometry.pageSize);
      // Saves without a deadline fold the deltas into a full save once half the area is used, so that a
      // save racing a deadline (AC power loss) finds room to stay a small delta.
      const room = options.deadline === undefined ? this.layout.deltaBytes / 2 : this.layout.deltaBytes;
      if (end <= room) return this.saveDelta(this.slots[newest], pages, source, options);
    }
    return this.saveFull(source, options);
  }

  private saveDelta(slot: Slot, pages: Uint32Array, source: Uint8Array, options: SaveOptions): SaveReport {
    const started = performance.now();
    const { pageSize } = this.geometry;
    const previous = this.generation();
    const report = (complete: boolean): SaveReport => ({
      complete,
      kind: 'delta',
      slot: slot.info.slot,
      generation: complete ? previous + 1 : previous,
      savedBytes: complete ? pages.length * pageSize : 0,
      unsavedBytes: complete ? 0 : pages.length * pageSize,
      durationMs: performance.now() - started,
    });
    const expired = () => options.deadline !== undefined && performance.now() > options.deadline;
    if (expired()) return report(false);
    const sums = new Uint8Array(pages.length * 8);
    this.checksummer.hashPageList(source, pages, sums);
    const seq = this.segments.length + 1;
    const head = encodeSegmentHead(slot.info.generation, seq, pages, sums, pageSize, this.checksummer);
    // Gathered into one sequential write, in chunks so that progress and the deadline are observed. The
    // buffer is kept between saves: touching fresh memory costs more than the copy.
    const bytes = head.length + pages.length * pageSize;
    if (this.gather.length < bytes) this.gather = new Uint8Array(Math.max(bytes, this.gather.length * 2));
    const segment = this.gather.subarray(0, bytes);
    segment.set(head);
    pages.forEach((page, i) => segment.set(source.subarray(page * pageSize, (page + 1) * pageSize), head.length + i * pageSize));
    const start = this.layout.deltaOffset + this.deltaEnd;
    for (let done = 0; done < segment.length; ) {
      if (expired()) return this.abandonSegment(start, report);
      const n = Math.min(CHUNK_PAGES * pageSize, segment.length - done);
      this.file.write(start + done, segment.subarray(done, done + n));
      done += n;
      options.onProgress?.(done, segment.length);
    }
    if (slot.record!.segments < seq - 1) {
      // The segments before this one are durable: say so in the record, under the same fdatasync.
      slot.record = { ...slot.record!, segments: seq - 1 };
      this.file.write(this.layout.recordOffset[slot.info.slot], encodeRecordBlock(slot.record, this.checksummer));
    }
    this.file.sync(); // from here the segment is durable: the save is complete, deadline or not
    this.segments.push({ offset: this.deltaEnd, headBytes: head.length, pages, sums });
    this.deltaEnd += segment.length;
    this.dirty.fill(0);
    return report(true);
  }

  /**
   * A segment the deadline cut short must never count, even if its pages reach
   * the disk later: its header is cleared, durably, so the chain ends before it.
   */
  private abandonSegment(start: number, report: (complete: boolean) => SaveReport): SaveReport {
    this.file.write(start, new Uint8Array(SEGMENT_HEADER));
    this.file.sync();
    return report(false);
  }

  /** Writes the older slot's pending pages in place and commits it as the newest image. */
  private saveFull(source: Uint8Array, options: SaveOptions): SaveReport {
    const started = performance.now();
    const { pageSize } = this.geometry;
    const targetIndex = this.targetSlot();
    const target = this.slots[targetIndex];
    if (options.full) target.pending.fill(1);
    const total = target.pending.reduce((n, flag) => n + flag, 0);
    const previous = this.generation();
    const generation = Math.max(previous, ...this.slots.map((s) => s.info.generation)) + 1;
    const expired = () => options.deadline !== undefined && performance.now() > options.deadline;
    const report = (complete: boolean, savedPages: number): SaveReport => ({
      complete,
      kind: 'full',
      slot: targetIndex,
      generation: complete ? generation : previous,
      savedBytes: savedPages * pageSize,
      unsavedBytes: (total - savedPages) * pageSize,
      durationMs: performance.now() - started,
    });

    if (target.info.state !== 'writing') {
      // Mark the slot as being written before touching its pages, so that after a
      // crash its stale manifest is never trusted.
      this.writeRecord({
        slot: targetIndex,
        state: 'writing',
        generation: target.info.generation,
        savedAtMs: Date.now(),
        manifestHash: 0n,
        segments: 0,
      });
      target.info.state = 'writing';
    }
    let saved = 0;
    const touchedManifest = new Uint8Array(this.layout.manifestBytes / pageSize);
    for (const [first, n] of runs(target.pending, CHUNK_PAGES)) {
      if (expired()) return report(false, saved);
      this.checksummer.hashPages(source, first, n, target.manifest.subarray(first * 8, (first + n) * 8));
      this.file.write(
        this.layout.dataOffset[targetIndex] + first * pageSize,
        source.subarray(first * pageSize, (first + n) * pageSize),
      );
      const lastChunk = Math.floor(((first + n) * 8 - 1) / pageSize);
      touchedManifest.fill(1, Math.floor((first * 8) / pageSize), lastChunk + 1);
      saved += n;
      options.onProgress?.(saved * pageSize, total * pageSize);
    }
    // Manifest pages go out in contiguous runs, one write each.
    for (const [first, n] of runs(touchedManifest, touchedManifest.length)) {
      this.file.write(
        this.layout.manifestOffset[targetIndex] + first * pageSize,
        target.manifest.subarray(first * pageSize, (first + n) * pageSize),
      );
    }
    this.file.sync();
    if (expired()) return report(false, saved);
    const record: SlotRecord = {
      slot: targetIndex,
      state: 'complete',
      generation,
      savedAtMs: Date.now(),
      manifestHash: this.checksummer.hashBytes(target.manifest, MANIFEST_SEED),
      segments: 0,
    };
    this.writeRecord(record);
    target.record = record;
    target.info = { slot: targetIndex, state: 'complete', generation, savedAtMs: record.savedAtMs, damagedCopies: 0 };
    target.pending.fill(0);
    this.dirty.fill(0);
    this.segments = [];
    this.deltaEnd = 0;
    return report(true, saved);
  }

  private writeRecord(record: SlotRecord): void {
    this.file.write(this.layout.recordOffset[record.slot], encodeRecordBlock(record, this.checksummer));
    this.file.sync();
  }

  close(): void {
    this.file.close();
  }
}
