// xxHash64 (Yann Collet's reference algorithm), used for page and header checksums.
import { SCRATCH_BASE, SCRATCH_SIZE, PAGE_SHIFT } from "./layout";

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;

@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

@inline function mergeRound(acc: u64, value: u64): u64 {
  return (acc ^ round(0, value)) * P1 + P4;
}

export function xxh64(ptr: usize, len: usize, seed: u64): u64 {
  const end = ptr + len;
  let h: u64;
  if (len >= 32) {
    const limit = end - 32;
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    do {
      v1 = round(v1, load<u64>(ptr));
      v2 = round(v2, load<u64>(ptr, 8));
      v3 = round(v3, load<u64>(ptr, 16));
      v4 = round(v4, load<u64>(ptr, 24));
      ptr += 32;
    } while (ptr <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = seed + P5;
  }
  h += <u64>len;
  while (ptr + 8 <= end) {
    h ^= round(0, load<u64>(ptr));
    h = rotl<u64>(h, 27) * P1 + P4;
    ptr += 8;
  }
  if (ptr + 4 <= end) {
    h ^= <u64>load<u32>(ptr) * P1;
    h = rotl<u64>(h, 23) * P2 + P3;
    ptr += 4;
  }
  while (ptr < end) {
    h ^= <u64>load<u8>(ptr) * P5;
    h = rotl<u64>(h, 11) * P1;
    ptr++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}

/** Largest page count whose checksums fit the scratch area in one call. */
export const HASH_BATCH: u32 = <u32>(SCRATCH_SIZE >> 3);

/**
 * Checksums of `count` 4 KiB pages starting at linear address `src`, written as
 * u64s to the start of the scratch area (at most HASH_BATCH pages per call).
 */
export function hash_pages(src: usize, count: u32, seed: u64): void {
  const pageSize = <usize>1 << PAGE_SHIFT;
  let out = SCRATCH_BASE;
  for (let i: u32 = 0; i < count; i++) {
    store<u64>(out, xxh64(src, pageSize, seed));
    src += pageSize;
    out += 8;
  }
}

/** Checksum of the first `len` bytes of the scratch area (buffers the host copied in). */
export function hash_scratch(len: u32, seed: u64): u64 {
  return xxh64(SCRATCH_BASE, len, seed);
}

/**
 * Checksums of `count` scattered 4 KiB pages: page numbers are u32s at linear
 * address `list`, relative to linear address `base`; the u64 checksums go to `out`.
 */
export function hash_page_list(base: usize, list: usize, count: u32, out: usize, seed: u64): void {
  const pageSize = <usize>1 << PAGE_SHIFT;
  for (let i: u32 = 0; i < count; i++) {
    const page = <usize>load<u32>(list + (<usize>i << 2));
    store<u64>(out + (<usize>i << 3), xxh64(base + page * pageSize, pageSize, seed));
  }
}
