// `mtr -p` as a consumer of events: after every answer or loss of a target (and when a name arrives),
// the lines of its hops that changed.

import { newSplitState, renderSplit, type SplitState } from '../render/split.js';
import type { TargetId } from '../stats/types.js';
import { mtrSnapshot } from './mtr-snapshot.js';
import type { Output, OutputContext } from './types.js';

export function splitOutput(ctx: OutputContext): Output {
  const states = new Map<TargetId, SplitState>();
  const redraw = (id: TargetId): void => {
    const s = ctx.engine.snapshot(id);
    if (s === undefined) return;
    let st = states.get(id);
    if (st === undefined) states.set(id, (st = newSplitState()));
    const lines = renderSplit(st, mtrSnapshot(s, ctx.localHostname), ctx.names, ctx.render);
    if (lines.length > 0) ctx.write(lines.join('\n') + '\n');
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'probe-answered':
        case 'probe-lost':
          redraw(e.target.id);
          return;
        case 'name-resolved':
          for (const id of states.keys()) {
            const status = ctx.engine.snapshot(id)?.status;
            if (status === 'running' || status === 'paused' || status === 'finishing') redraw(id);
          }
          return;
        case 'target-done':
          states.delete(e.target.id);
          return;
        default:
          return;
      }
    },
  };
}
