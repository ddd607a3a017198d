// An output is a consumer of the engine's event stream: it may write as events arrive (raw, split,
// ndjson) and/or print one document per target when the target is over (report, json, csv, xml).
// Outputs never call back into the engine except to read snapshots and names.

import type { Config } from '../options.js';
import type { Engine } from '../engine/types.js';
import type { EngineEvent } from '../engine/events.js';
import type { TargetId, TargetSnapshot } from '../stats/types.js';
import type { Names, RenderOptions } from '../render/model.js';

export interface OutputContext {
  readonly cfg: Config;
  readonly render: RenderOptions;
  readonly engine: Engine;
  /** names known so far (NO_NAMES without a resolver) */
  readonly names: Names;
  /** os.hostname(): mtr's LocalHostname */
  readonly localHostname: string;
  /** the one place that writes to stdout */
  write(text: string): void;
  /** bytes written to stdout and not yet taken by its reader */
  backlog(): number;
  /** one line on stderr */
  warn(message: string): void;
  /** ms since the epoch */
  now(): number;
  /** more fields for a target's object in --json-rich (the diagnosis) */
  targetExtras?(id: TargetId): Record<string, unknown>;
}

/** How the run ended, for outputs that say it. */
export type RunEnd = 'completed' | 'interrupted' | 'failed';

export interface Output {
  /** every event, in order */
  onEvent?(e: EngineEvent): void;
  /** a target is over, before final(): may probe more (--confirm) */
  settle?(s: TargetSnapshot): Promise<void>;
  /** the lines to print for a target that is over (done, or stopped by Ctrl-C) */
  final?(s: TargetSnapshot): string[];
  /** the run is over: last words (the rich document, NDJSON's end line) */
  close?(how: RunEnd): void;
}
