// On-disk image format v1: an immutable file header, one slot-record block per
// slot, then per slot a manifest of page checksums and the page data.
//
//   [0, 4 KiB)        file header (checksummed, written once)
//   4 KiB, 8 KiB      slot-record blocks A and B (eight checksummed 512-byte copies each)
//   then              manifest A, manifest B (u64 xxHash64 per page)
//   then              data A, data B (pageCount pages each)
//   then              the delta area: segments of changed pages appended after the newest slot's base
//
// A full save writes the older slot and commits it by writing its record block
// last. An incremental save appends one delta segment (its dirty pages, gathered
// into one sequential, checksummed write) after the newest slot's base; segments
// name their base and sequence number, and the chain ends at the first segment
// that does not validate, as a write-ahead log's does. Either way a crash or
// power loss mid-save leaves the previous image loadable.
import { CorruptImageError, ForeignFileError, NewerFormatError, TruncatedFileError } from '../errors.js';
import type { Checksummer } from './checksum.js';

const IMAGE_MAGIC = 0x474d_494d_454d_5057n; // "WPMEMIMG"
const SLOT_MAGIC = 0x544c_534d_454d_5057n; // "WPMEMSLT"
const IMAGE_FORMAT_VERSION = 1;
export const HEADER_SIZE = 4096;
export const RECORD_SIZE = 512;
const RECORD_COPIES = 8;
export const RECORD_BLOCK_SIZE = RECORD_SIZE * RECORD_COPIES;
/** Every format version keeps the header checksum in the header's last 8 bytes. */
const HEADER_CHECKSUM_AT = HEADER_SIZE - 8;
const RECORD_CHECKSUM_AT = RECORD_SIZE - 8;
const HEADER_SEED = 0x5244_4845_4d45_4d50n;
const RECORD_SEED = 0x4443_4552_4d45_4d50n;
export const MANIFEST_SEED = 0x5453_4e4d_4d45_4d50n;
const SEGMENT_MAGIC = 0x544c_4544_4d45_4d50n; // "PMEMDELT"
const SEGMENT_SEED = 0x544c_4544_5345_4d50n;
export const SEGMENT_HEADER = 64;
const SEGMENT_CHECKSUM_AT = 56;
const INDEX_ENTRY = 16; // u32 page, u32 zero, u64 page checksum

export interface ImageGeometry {
  pageSize: number;
  pageCount: number;
  poolSize: number;
  /** Device personality code (see device/personality.ts). */
  device: number;
  uuid: Uint8Array;
  createdAtMs: number;
}

export interface ImageLayout {
  recordOffset: [number, number];
  manifestOffset: [number, number];
  manifestBytes: number;
  dataOffset: [number, number];
  deltaOffset: number;
  deltaBytes: number;
  fileSize: number;
}

export type SlotState = 'complete' | 'writing';
const STATE_CODES: Record<SlotState, number> = { complete: 1, writing: 2 };

export interface SlotRecord {
  slot: number;
  state: SlotState;
  /** The generation of the full save that wrote this slot's pages; its delta segments name it. */
  generation: number;
  savedAtMs: number;
  manifestHash: bigint;
  /**
   * Delta segments known durable on this base: each delta save records the ones
   * before it. A chain shorter than this lost acknowledged data.
   */
  segments: number;
}

export interface SegmentHeader {
  baseGeneration: number;
  seq: number;
  pageCount: number;
  /** Page numbers and their checksums, in segment order. */
  pages: Uint32Array;
  sums: Uint8Array;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function layoutFor(pageCount: number, pageSize: number): ImageLayout {
  const manifestBytes = alignUp(pageCount * 8, pageSize);
  const firstManifest = HEADER_SIZE + 2 * RECORD_BLOCK_SIZE;
  const firstData = firstManifest + 2 * manifestBytes;
  const dataBytes = pageCount * pageSize;
  const deltaOffset = firstData + 2 * dataBytes;
  const deltaBytes = Math.max(64, Math.ceil(pageCount / 4)) * pageSize;
  return {
    recordOffset: [HEADER_SIZE, HEADER_SIZE + RECORD_BLOCK_SIZE],
    manifestOffset: [firstManifest, firstManifest + manifestBytes],
    manifestBytes,
    dataOffset: [firstData, firstData + dataBytes],
    deltaOffset,
    deltaBytes,
    fileSize: deltaOffset + deltaBytes,
  };
}

/** Bytes a delta segment of `pageCount` pages takes: header and index, page-aligned, then the pages. */
export function segmentBytes(pageCount: number, pageSize: number): number {
  return alignUp(SEGMENT_HEADER + pageCount * INDEX_ENTRY, pageSize) + pageCount * pageSize;
}

/** Header and index of a delta segment, sealed with a checksum over both. */
export function encodeSegmentHead(
  baseGeneration: number,
  seq: number,
  pages: Uint32Array,
  sums: Uint8Array,
  pageSize: number,
  checksummer: Checksummer,
): Uint8Array {
  const head = new Uint8Array(alignUp(SEGMENT_HEADER + pages.length * INDEX_ENTRY, pageSize));
  const view = new DataView(head.buffer);
  view.setBigUint64(0, SEGMENT_MAGIC, true);
  view.setBigUint64(8, BigInt(baseGeneration), true);
  view.setUint32(16, seq, true);
  view.setUint32(20, pages.length, true);
  pages.forEach((page, i) => {
    view.setUint32(SEGMENT_HEADER + i * INDEX_ENTRY, page, true);
    head.set(sums.subarray(i * 8, i * 8 + 8), SEGMENT_HEADER + i * INDEX_ENTRY + 8);
  });
  view.setBigUint64(SEGMENT_CHECKSUM_AT, segmentChecksum(head, pages.length, checksummer), true);
  return head;
}

function segmentChecksum(head: Uint8Array, pageCount: number, checksummer: Checksummer): bigint {
  const covered = new Uint8Array(SEGMENT_CHECKSUM_AT + pageCount * INDEX_ENTRY);
  covered.set(head.subarray(0, SEGMENT_CHECKSUM_AT));
  covered.set(head.subarray(SEGMENT_HEADER, SEGMENT_HEADER + pageCount * INDEX_ENTRY), SEGMENT_CHECKSUM_AT);
  return checksummer.hashBytes(covered, SEGMENT_SEED);
}

/** The page count of a segment header, before its index has been read (undefined if it is not one). */
export function segmentPageCount(header: Uint8Array): number | undefined {
  const view = new DataView(header.buffer, header.byteOffset, SEGMENT_HEADER);
  return view.getBigUint64(0, true) === SEGMENT_MAGIC ? view.getUint32(20, true) : undefined;
}

/** Validates a segment's header and index (`head` holds both); undefined if damaged. */
export function decodeSegmentHead(head: Uint8Array, checksummer: Checksummer): SegmentHeader | undefined {
  const pageCount = segmentPageCount(head);
  if (pageCount === undefined || head.length < SEGMENT_HEADER + pageCount * INDEX_ENTRY) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  if (view.getBigUint64(SEGMENT_CHECKSUM_AT, true) !== segmentChecksum(head, pageCount, checksummer)) return undefined;
  const pages = new Uint32Array(pageCount);
  const sums = new Uint8Array(pageCount * 8);
  for (let i = 0; i < pageCount; i++) {
    pages[i] = view.getUint32(SEGMENT_HEADER + i * INDEX_ENTRY, true);
    sums.set(head.subarray(SEGMENT_HEADER + i * INDEX_ENTRY + 8, SEGMENT_HEADER + i * INDEX_ENTRY + 16), i * 8);
  }
  return { baseGeneration: Number(view.getBigUint64(8, true)), seq: view.getUint32(16, true), pageCount, pages, sums };
}

export function encodeHeader(geometry: ImageGeometry, checksummer: Checksummer): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, IMAGE_MAGIC, true);
  view.setUint32(8, IMAGE_FORMAT_VERSION, true);
  view.setUint32(12, HEADER_SIZE, true);
  view.setUint32(16, geometry.pageSize, true);
  view.setUint32(20, geometry.device, true);
  view.setBigUint64(24, BigInt(geometry.poolSize), true);
  view.setBigUint64(32, BigInt(geometry.pageCount), true);
  bytes.set(geometry.uuid, 40);
  view.setBigUint64(56, BigInt(geometry.createdAtMs), true);
  return sealHeader(bytes, checksummer);
}

/** Stores the header checksum in the header's last 8 bytes. */
export function sealHeader(header: Uint8Array, checksummer: Checksummer): Uint8Array {
  const checksum = checksummer.hashBytes(header.subarray(0, HEADER_CHECKSUM_AT), HEADER_SEED);
  new DataView(header.buffer, header.byteOffset).setBigUint64(HEADER_CHECKSUM_AT, checksum, true);
  return header;
}

/**
 * Validates a file header and returns its geometry. `header` holds the first
 * bytes of the file (at most HEADER_SIZE), `fileSize` the file's length.
 */
export function decodeHeader(
  header: Uint8Array,
  fileSize: number,
  checksummer: Checksummer,
): { geometry: ImageGeometry; layout: ImageLayout } {
  if (header.length < 8) throw new TruncatedFileError(fileSize, HEADER_SIZE);
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  if (view.getBigUint64(0, true) !== IMAGE_MAGIC) {
    throw new ForeignFileError('not a wasm-pmem image: the file does not start with the image magic');
  }
  if (header.length < HEADER_SIZE) throw new TruncatedFileError(fileSize, HEADER_SIZE);
  const stored = view.getBigUint64(HEADER_CHECKSUM_AT, true);
  if (stored !== checksummer.hashBytes(header.subarray(0, HEADER_CHECKSUM_AT), HEADER_SEED)) {
    throw new CorruptImageError('the image file header is damaged (checksum mismatch)', { where: 'header' });
  }
  const version = view.getUint32(8, true);
  if (version > IMAGE_FORMAT_VERSION) throw new NewerFormatError(version, IMAGE_FORMAT_VERSION);
  const geometry: ImageGeometry = {
    pageSize: view.getUint32(16, true),
    device: view.getUint32(20, true),
    poolSize: Number(view.getBigUint64(24, true)),
    pageCount: Number(view.getBigUint64(32, true)),
    uuid: header.slice(40, 56),
    createdAtMs: Number(view.getBigUint64(56, true)),
  };
  if (
    view.getUint32(12, true) !== HEADER_SIZE ||
    geometry.pageSize !== 4096 ||
    geometry.pageCount * geometry.pageSize !== geometry.poolSize ||
    geometry.pageCount === 0
  ) {
    throw new CorruptImageError('the image file header describes an impossible geometry', { where: 'header' });
  }
  const layout = layoutFor(geometry.pageCount, geometry.pageSize);
  if (fileSize < layout.fileSize) throw new TruncatedFileError(fileSize, layout.fileSize);
  return { geometry, layout };
}

/** A slot-record block: the same 512-byte record eight times, so one damaged sector or bit loses nothing. */
export function encodeRecordBlock(record: SlotRecord, checksummer: Checksummer): Uint8Array {
  const one = new Uint8Array(RECORD_SIZE);
  const view = new DataView(one.buffer);
  view.setBigUint64(0, SLOT_MAGIC, true);
  view.setUint32(8, record.slot, true);
  view.setUint32(12, STATE_CODES[record.state], true);
  view.setBigUint64(16, BigInt(record.generation), true);
  view.setBigUint64(24, BigInt(record.savedAtMs), true);
  view.setBigUint64(32, record.manifestHash, true);
  view.setUint32(40, record.segments, true);
  view.setBigUint64(RECORD_CHECKSUM_AT, checksummer.hashBytes(one.subarray(0, RECORD_CHECKSUM_AT), RECORD_SEED), true);
  const block = new Uint8Array(RECORD_BLOCK_SIZE);
  for (let copy = 0; copy < RECORD_COPIES; copy++) block.set(one, copy * RECORD_SIZE);
  return block;
}

/**
 * Reads a slot-record block. The record is the valid copy with the highest
 * generation, then the most segments; if any valid copy of that generation says
 * `writing` (a torn update), the slot counts as being written. `damagedCopies` counts copies that
 * fail their checksum.
 */
export function decodeRecordBlock(
  block: Uint8Array,
  slot: number,
  checksummer: Checksummer,
): { record: SlotRecord | undefined; damagedCopies: number } {
  let best: SlotRecord | undefined;
  let damagedCopies = 0;
  for (let copy = 0; copy < RECORD_COPIES; copy++) {
    const one = block.subarray(copy * RECORD_SIZE, (copy + 1) * RECORD_SIZE);
    const view = new DataView(one.buffer, one.byteOffset, RECORD_SIZE);
    const valid =
      view.getBigUint64(0, true) === SLOT_MAGIC &&
      view.getBigUint64(RECORD_CHECKSUM_AT, true) ===
        checksummer.hashBytes(one.subarray(0, RECORD_CHECKSUM_AT), RECORD_SEED) &&
      view.getUint32(8, true) === slot;
    const stateCode = view.getUint32(12, true);
    const state = (Object.keys(STATE_CODES) as SlotState[]).find((s) => STATE_CODES[s] === stateCode);
    if (!valid || !state) {
      damagedCopies++;
      continue;
    }
    const record: SlotRecord = {
      slot,
      state,
      generation: Number(view.getBigUint64(16, true)),
      savedAtMs: Number(view.getBigUint64(24, true)),
      manifestHash: view.getBigUint64(32, true),
      segments: view.getUint32(40, true),
    };
    // Within one generation a torn 'writing' update wins (stays sticky), then the copy with more segments.
    const sameBase = best !== undefined && record.generation === best.generation && best.state !== 'writing';
    if (!best || record.generation > best.generation || (sameBase && (state === 'writing' || record.segments > best.segments))) {
      best = record;
    }
  }
  return { record: best, damagedCopies };
}
