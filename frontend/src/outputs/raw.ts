// `mtr -l` as a consumer of events: x on probe-sent; h (when the hop's responder differs from its
// previous one), m (its MPLS labels, with -e), d (the hop's name, once, when known) and p on an answer.

import { rawDns, rawHost, rawMpls, rawPing, rawXmit } from '../render/raw.js';
import type { Output, OutputContext } from './types.js';

export function rawOutput(ctx: OutputContext): Output {
  /** per target: the latest responder per hop, and the hops whose name was printed */
  const latest = new Map<number, Map<number, string>>();
  const named = new Map<number, Set<number>>();
  return {
    onEvent(e) {
      if (e.type === 'probe-sent') {
        ctx.write(rawXmit(e.probe.ttl - 1, e.probe.token) + '\n');
        return;
      }
      if (e.type !== 'probe-answered') return;
      const hop = e.probe.ttl - 1;
      const id = e.target.id;
      let hops = latest.get(id);
      if (hops === undefined) latest.set(id, (hops = new Map()));
      let t = '';
      if (hops.get(hop) !== e.responder) {
        hops.set(hop, e.responder);
        t += rawHost(hop, e.responder) + '\n';
        if (ctx.cfg.mpls) for (const l of e.mpls) t += rawMpls(hop, l) + '\n';
      }
      const name = ctx.cfg.dns ? ctx.names.host(e.responder) : undefined;
      let printed = named.get(id);
      if (printed === undefined) named.set(id, (printed = new Set()));
      if (name !== undefined && !printed.has(hop)) {
        printed.add(hop);
        t += rawDns(hop, name) + '\n';
      }
      ctx.write(t + rawPing(hop, e.rtt * 1000, e.probe.token) + '\n');
    },
  };
}
