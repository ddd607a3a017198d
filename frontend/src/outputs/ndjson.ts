// --ndjson: the event stream, one JSON object per line, written as each event happens. A `start` line
// comes first (seq 0) and an `end` line last (seq after the last event's). A reader that stops reading
// never holds up probing: when more than BACKLOG_LIMIT bytes wait unread, events are dropped and counted
// (the seq gap shows where), the `end` line and stderr say how many.

import { PROGRAM, VERSION } from '../options.js';
import { eventJson, rfc3339, SCHEMA_VERSION } from './json-shapes.js';
import type { Output, OutputContext, RunEnd } from './types.js';

/** bytes waiting unread on stdout beyond which events are dropped */
export const BACKLOG_LIMIT = 1 << 20;

export function ndjsonOutput(ctx: OutputContext): Output {
  let lastSeq = 0;
  let dropped = 0;
  let maxBacklog = 0;
  const line = (o: object): void => ctx.write(JSON.stringify(o) + '\n');
  line({
    schema_version: SCHEMA_VERSION,
    type: 'start',
    seq: 0,
    ts: rfc3339(ctx.now()),
    target: null,
    program: { name: PROGRAM, version: VERSION },
    local_hostname: ctx.localHostname,
    targets: ctx.cfg.targets,
  });
  return {
    onEvent(e) {
      lastSeq = e.seq;
      const backlog = ctx.backlog();
      if (backlog > maxBacklog) maxBacklog = backlog;
      if (backlog > BACKLOG_LIMIT) {
        dropped++;
        return;
      }
      line(eventJson(e, ctx.names));
    },
    close(how: RunEnd) {
      line({
        schema_version: SCHEMA_VERSION,
        type: 'end',
        seq: lastSeq + 1,
        ts: rfc3339(ctx.now()),
        target: null,
        reason: how,
        dropped_events: dropped,
        max_backlog_bytes: maxBacklog,
      });
      if (dropped > 0)
        ctx.warn(`${dropped} events dropped: the NDJSON reader fell behind (more than ${BACKLOG_LIMIT} bytes unread)`);
    },
  };
}
