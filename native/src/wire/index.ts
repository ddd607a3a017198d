// Pure TypeScript packet codecs: no node: imports, no sockets.
export * from './addr.js';
export * from './checksum.js';
export * from './build.js';
export * from './decode.js';
export * from './fixtures.js';
