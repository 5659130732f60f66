// The Node entry (`wasm-pmem`): the portable API plus the file store.
export * from './portable.js';
export { NodeFileStore } from '../store/node-file-store.js';
