/** Checksums used by the image format (xxHash64, computed by the Wasm core). */
export interface Checksummer {
  /**
   * Writes the u64 checksum of each of `count` pages of `view`, starting at page
   * `firstPage`, into `out` (8 bytes per page, little-endian).
   */
  hashPages(view: Uint8Array, firstPage: number, count: number, out: Uint8Array): void;
  /** Like hashPages, for the scattered pages listed in `pages`. */
  hashPageList(view: Uint8Array, pages: Uint32Array, out: Uint8Array): void;
  /** Checksum of `bytes`, chained over scratch-sized chunks. */
  hashBytes(bytes: Uint8Array, seed: bigint): bigint;
}

export const PAGE_SEED = 0x5057_4d45_4d50_4147n; // "PWMEMPAG"

/** Whether two checksum lists hold the same bytes. */
export function sameChecksums(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
