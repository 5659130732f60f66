// UTF-8 to and from views of the pool's shared memory. Node's TextEncoder and
// TextDecoder take shared views directly; browsers refuse them, so there the
// text goes through an unshared copy.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const takesSharedViews = (() => {
  try {
    encoder.encodeInto('', new Uint8Array(new SharedArrayBuffer(1)));
    decoder.decode(new Uint8Array(new SharedArrayBuffer(1)));
    return true;
  } catch {
    return false;
  }
})();

/** `TextEncoder.encodeInto` for a view of shared memory: `read` < text.length when `target` was too short. */
export function encodeInto(text: string, target: Uint8Array): { read: number; written: number } {
  if (takesSharedViews) return encoder.encodeInto(text, target);
  const bytes = encoder.encode(text);
  if (bytes.length > target.length) return { read: 0, written: 0 };
  target.set(bytes);
  return { read: text.length, written: bytes.length };
}

/** `TextDecoder.decode` for a view of shared memory. */
export function decode(view: Uint8Array): string {
  return decoder.decode(takesSharedViews ? view : view.slice());
}
