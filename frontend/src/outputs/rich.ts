// --json-rich: one JSON document for the whole run, written when it is over: every target with its
// options, path id and changes, and per hop the lifetime and window statistics with percentiles and
// every responder with its own statistics and MPLS labels (schema: frontend/schema/mtr-ts-report.schema.json).

import { PROGRAM, VERSION } from '../options.js';
import { hopRange } from '../render/common.js';
import type { TargetId } from '../stats/types.js';
import { rfc3339, SCHEMA_VERSION, targetReportJson } from './json-shapes.js';
import { mtrSnapshot } from './mtr-snapshot.js';
import type { Output, OutputContext, RunEnd } from './types.js';

export function richOutput(ctx: OutputContext): Output {
  const startedAt = ctx.now();
  const errors = new Map<TargetId, string>();
  return {
    onEvent(e) {
      if (e.type === 'error' && e.target !== undefined && !errors.has(e.target.id)) errors.set(e.target.id, e.message);
    },
    close(how: RunEnd) {
      const targets = ctx.engine.targets().flatMap((t) => {
        const s = ctx.engine.snapshot(t.id);
        return s === undefined
          ? []
          : [{ ...targetReportJson(s, ctx.names, hopRange(mtrSnapshot(s, ctx.localHostname)), errors.get(t.id)), ...ctx.targetExtras?.(t.id) }];
      });
      const doc = {
        schema_version: SCHEMA_VERSION,
        program: { name: PROGRAM, version: VERSION },
        local_hostname: ctx.localHostname,
        started_at: rfc3339(startedAt),
        ended_at: rfc3339(ctx.now()),
        end_reason: how,
        targets,
      };
      ctx.write(JSON.stringify(doc, null, 2) + '\n');
    },
  };
}
