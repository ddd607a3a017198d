// Every output, by name. A new output is one more entry here; the engine does not change.

import type { OutputMode } from '../options.js';
import { jsonOutput, membersOutput, reportOutput } from './final.js';
import { rawOutput } from './raw.js';
import { splitOutput } from './split.js';
import { ndjsonOutput } from './ndjson.js';
import { richOutput } from './rich.js';
import type { Output, OutputContext } from './types.js';

export type { Output, OutputContext, RunEnd } from './types.js';
export { mtrSnapshot } from './mtr-snapshot.js';

export const OUTPUTS: Record<OutputMode, (ctx: OutputContext) => Output> = {
  report: reportOutput,
  wide: reportOutput,
  json: (ctx) => jsonOutput(ctx),
  csv: (ctx) => membersOutput('csv', ctx),
  xml: (ctx) => membersOutput('xml', ctx),
  raw: rawOutput,
  split: splitOutput,
  ndjson: ndjsonOutput,
  rich: richOutput,
};

/** Outputs that write as events arrive: their targets run one after another so lines do not mix. */
export const STREAMING_MODES: ReadonlySet<OutputMode> = new Set<OutputMode>(['raw', 'split']);
