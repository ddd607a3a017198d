// The engine: many targets over one packet process, one event stream, a statistics snapshot per target.
export type * from './types.js';
export type * from './events.js';
export type * from '../stats/types.js';
export { DEFAULT_TARGET_OPTIONS } from './types.js';
export { ENGINE_EVENT_TYPES } from './events.js';
export { MAX_RESPONDERS } from '../stats/types.js';
export { createEngine } from './engine.js';
export { systemClock } from './clock.js';
