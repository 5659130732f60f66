// The browser entry (`wasm-pmem/browser`): the whole API except what needs
// Node (the file store and the CLI), plus the OPFS backing store. Load it as an
// ES module from a page served cross-origin isolated (COOP/COEP), which shared
// WebAssembly memory requires.
export * from './portable.js';
export { OpfsStore } from '../store/opfs-store.js';
