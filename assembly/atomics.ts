// Word accessors that are atomic in the threads build and plain in the
// no-threads build (same source, selected by ASC_FEATURE_THREADS).

@inline export function load64(addr: usize): u64 {
  if (ASC_FEATURE_THREADS) return atomic.load<u64>(addr);
  return load<u64>(addr);
}

@inline export function store64(addr: usize, value: u64): void {
  if (ASC_FEATURE_THREADS) atomic.store<u64>(addr, value);
  else store<u64>(addr, value);
}

@inline export function add64(addr: usize, delta: u64): u64 {
  if (ASC_FEATURE_THREADS) return atomic.add<u64>(addr, delta);
  const old = load<u64>(addr);
  store<u64>(addr, old + delta);
  return old;
}

@inline export function or32(addr: usize, bits: u32): void {
  if (ASC_FEATURE_THREADS) atomic.or<u32>(addr, bits);
  else store<u32>(addr, load<u32>(addr) | bits);
}

@inline export function load32(addr: usize): u32 {
  if (ASC_FEATURE_THREADS) return atomic.load<u32>(addr);
  return load<u32>(addr);
}

@inline export function store32(addr: usize, value: u32): void {
  if (ASC_FEATURE_THREADS) atomic.store<u32>(addr, value);
  else store<u32>(addr, value);
}

@inline export function add32(addr: usize, delta: u32): void {
  if (ASC_FEATURE_THREADS) atomic.add<u32>(addr, delta);
  else store<u32>(addr, load<u32>(addr) + delta);
}

/**
 * Orders the loads before it ahead of the loads after it (a seqlock reader's
 * second check), by an idempotent atomic read-modify-write of `privateWord`, a
 * word no other thread touches (atomic.fence fails validation in the binaryen
 * that asc 0.28 bundles; LLVM lowers fences to the same RMW).
 */
@inline export function loadFence(privateWord: usize): void {
  if (ASC_FEATURE_THREADS) atomic.or<u32>(privateWord, 0);
}
