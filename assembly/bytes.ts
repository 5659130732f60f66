// Short copies. memory.copy is a call out of the compiled code into the engine,
// dearer than a few loads and stores for the 4- to 40-byte copies that journal
// entries and transactional reads mostly are.

/** Copies `length` bytes from `src` to `dst` (the two must not overlap). */
@inline export function copyBytes(dst: usize, src: usize, length: usize): void {
  if (length > SHORT_COPY) {
    memory.copy(dst, src, length);
    return;
  }
  let i: usize = 0;
  for (; i + 8 <= length; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < length; i++) store<u8>(dst + i, load<u8>(src + i));
}

/** The longest copy done word by word. */
const SHORT_COPY: usize = 64;
