// `mtr -p`: a line per hop, "HOP NAME LOSS RCV SNT BEST AVG WORST" (loss in thousandths of a
// percent, times in whole ms, truncated, as mtr's split_redraw), or "HOP ???"; a line is written
// again only when it changed, and "-N" removes lines beyond the path's current end.

import { viewHop } from '../stats.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { hopRange } from './common.js';

export interface SplitState {
  lines: string[];
  count: number;
}

export function newSplitState(): SplitState {
  return { lines: [], count: -1 };
}

export function splitLine(s: Snapshot, at: number, names: Names, opts: RenderOptions): string {
  const hop = s.hops[at];
  if (hop === undefined || hop.address === undefined) return '???';
  let name = (opts.dns ? names.host(hop.address) : undefined) ?? hop.address;
  if (opts.showIps) name = `${name} ${hop.address}`;
  const v = viewHop(hop);
  const t = Math.trunc;
  return `${name} ${t(v.lossPercent * 1000)} ${v.received} ${v.sent} ${t(v.best)} ${t(v.avg)} ${t(v.worst)}`;
}

/** Lines to print since the last call; updates `state`. */
export function renderSplit(state: SplitState, s: Snapshot, names: Names, opts: RenderOptions): string[] {
  const out: string[] = [];
  const { to } = hopRange(s);
  for (let i = state.count; i > to; i--) {
    out.push(`-${i}`);
    state.count--;
  }
  for (let at = 0; at < to; at++) {
    const line = splitLine(s, at, names, opts);
    if (line !== (state.lines[at] ?? '???')) {
      out.push(`${at + 1} ${line}`);
      state.lines[at] = line;
      if (state.count < at + 1) state.count = at + 1;
    }
  }
  return out;
}
