// On-disk image format v1: an immutable file header, one slot-record block per
// slot, then per slot a manifest of page checksums and the page data.
//
//   [0, 4 KiB)        file header (checksummed, written once)
//   4 KiB, 8 KiB      slot-record blocks A and B (eight checksummed 512-byte copies each)
//   then              manifest A, manifest B (u64 xxHash64 per page)
//   then              data A, data B (pageCount pages each)
//
// A save writes the older slot and commits it by writing its record block last,
// so a crash or power loss mid-save leaves the newer slot loadable.
import { CorruptImageError, ForeignFileError, NewerFormatError, TruncatedFileError } from '../errors.js';
import type { Checksummer } from './checksum.js';

export const IMAGE_MAGIC = 0x474d_494d_454d_5057n; // "WPMEMIMG"
export const SLOT_MAGIC = 0x544c_534d_454d_5057n; // "WPMEMSLT"
export const IMAGE_FORMAT_VERSION = 1;
export const HEADER_SIZE = 4096;
export const RECORD_SIZE = 512;
export const RECORD_COPIES = 8;
export const RECORD_BLOCK_SIZE = RECORD_SIZE * RECORD_COPIES;
/** Every format version keeps the header checksum in the header's last 8 bytes. */
const HEADER_CHECKSUM_AT = HEADER_SIZE - 8;
const RECORD_CHECKSUM_AT = RECORD_SIZE - 8;
const HEADER_SEED = 0x5244_4845_4d45_4d50n;
const RECORD_SEED = 0x4443_4552_4d45_4d50n;
export const MANIFEST_SEED = 0x5453_4e4d_4d45_4d50n;

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
  fileSize: number;
}

export type SlotState = 'complete' | 'writing';
const STATE_CODES: Record<SlotState, number> = { complete: 1, writing: 2 };

export interface SlotRecord {
  slot: number;
  state: SlotState;
  generation: number;
  savedAtMs: number;
  manifestHash: bigint;
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

export function layoutFor(pageCount: number, pageSize: number): ImageLayout {
  const manifestBytes = alignUp(pageCount * 8, pageSize);
  const firstManifest = HEADER_SIZE + 2 * RECORD_BLOCK_SIZE;
  const firstData = firstManifest + 2 * manifestBytes;
  const dataBytes = pageCount * pageSize;
  return {
    recordOffset: [HEADER_SIZE, HEADER_SIZE + RECORD_BLOCK_SIZE],
    manifestOffset: [firstManifest, firstManifest + manifestBytes],
    manifestBytes,
    dataOffset: [firstData, firstData + dataBytes],
    fileSize: firstData + 2 * dataBytes,
  };
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
  view.setBigUint64(RECORD_CHECKSUM_AT, checksummer.hashBytes(one.subarray(0, RECORD_CHECKSUM_AT), RECORD_SEED), true);
  const block = new Uint8Array(RECORD_BLOCK_SIZE);
  for (let copy = 0; copy < RECORD_COPIES; copy++) block.set(one, copy * RECORD_SIZE);
  return block;
}

/**
 * Reads a slot-record block. The record is the valid copy with the highest
 * generation; if any valid copy of that generation says `writing` (a torn
 * update), the slot counts as being written. `damagedCopies` counts copies that
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
    };
    if (!best || record.generation > best.generation || (record.generation === best.generation && state === 'writing')) {
      best = record;
    }
  }
  return { record: best, damagedCopies };
}
