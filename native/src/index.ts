// The TypeScript face of the native addon. Native does syscalls only; this package checks
// arguments (checks.ts), fills defaults and turns each native batch into ReceivedPacket objects
// (batch.ts). Packet bytes are built and decoded elsewhere (./wire). Re-exports only.

export * from './types.js';
export { Engine } from './engine.js';
export { SendBatch } from './send-batch.js';
export { dropPrivileges, errnoName, isErrnoError, setParentDeathSignal } from './process.js';
