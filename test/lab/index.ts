/** The netns lab (no vitest dependency); vitest helpers are in ./use-lab.js. */
export * from './lab.js';
