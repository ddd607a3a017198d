// The members report (--members, --flows): mtr's report table, and under every hop with more than one
// responder one line per member with its own statistics (the -o fields) and its share of the hop's probes;
// with flows, the hop's balancing and, after the table, each flow's path. Without those flags the plain
// report (report.ts) is printed, byte for byte mtr 0.95's.

import { fieldsOf } from '../fields.js';
import { fieldValue } from '../stats.js';
import type { FlowSnapshot, HopSnapshot, TargetSnapshot } from '../stats/types.js';
import { flowPorts } from '../engine/types.js';
import { formatField, hopRange, hostLabel, padRight } from './common.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { renderReport } from './report.js';

const NARROW_HOST_COLUMN = 33;
/** what a member line has before its name beyond a hop row's prefix: the share (`  50% `) */
const SHARE_WIDTH = 5;

/** A member's share of the hop's probes, in percent (its replies and the losses charged to it). */
export function memberShare(hop: HopSnapshot, address: string): number {
  const total = hop.responders.reduce((n, r) => n + r.stats.sent, 0);
  const r = hop.responders.find((x) => x.address === address);
  return r === undefined || total === 0 ? 0 : (100 * r.stats.sent) / total;
}

/** The member lines of one hop (empty when it has a single responder). */
export function memberLines(hop: HopSnapshot, names: Names, opts: RenderOptions, hostWidth: number): string[] {
  if (hop.responders.length < 2) return [];
  const fields = fieldsOf(opts.order);
  const out: string[] = [];
  for (const r of hop.responders) {
    const share = `${Math.round(memberShare(hop, r.address))}%`.padStart(4, ' ');
    let row = `    +-- ${share} ${padRight(hostLabel(r.address, names, opts), Math.max(0, hostWidth - SHARE_WIDTH))}`;
    row = opts.wide ? row : padRight(row.slice(0, NARROW_HOST_COLUMN), NARROW_HOST_COLUMN);
    for (const f of fields) row += formatField(f, fieldValue(r.stats, f.key));
    out.push(row);
  }
  if (hop.balancing !== undefined) out.push(`    +-- ${hop.balancing} balancing`);
  return out;
}

/** Each flow's path: its latest responder at every TTL shown ('???' where none), with its loss there. */
export function flowLines(t: TargetSnapshot, from: number, to: number): string[] {
  const byFlow = new Map<number, Map<number, FlowSnapshot>>();
  for (let at = from; at < to; at++) {
    for (const f of t.hops[at]?.flows ?? []) {
      let m = byFlow.get(f.flow);
      if (m === undefined) byFlow.set(f.flow, (m = new Map()));
      m.set(at, f);
    }
  }
  if (byFlow.size === 0) return [];
  // ICMP flows are the packet process's (identifier and checksum per flow): named by number
  const icmp = t.options.protocol === 'icmp';
  const out = [icmp ? 'Flows (ICMP flow: responder loss% per TTL):' : 'Flows (local port>port: responder loss% per TTL):'];
  for (const flow of [...byFlow.keys()].sort((a, b) => a - b)) {
    const m = byFlow.get(flow) as Map<number, FlowSnapshot>;
    const p = flowPorts(t.options, flow);
    const hops: string[] = [];
    for (let at = from; at < to; at++) {
      const f = m.get(at);
      const who = f?.responder ?? '???';
      const more = f !== undefined && f.responders.length > 1 ? `(+${f.responders.length - 1})` : '';
      hops.push(`${who}${more} ${(f?.stats.lossPercent ?? 0).toFixed(1)}%`);
    }
    const label = icmp ? `flow ${flow}` : `${p.localPort}>${p.port}`;
    out.push(` ${String(flow + 1).padStart(2, ' ')}. ${label}: ${hops.join(' | ')}`);
  }
  return out;
}

/** The whole members report of a target (header line included). */
export function renderMembersReport(t: TargetSnapshot, s: Snapshot, names: Names, opts: RenderOptions): string[] {
  const { from, to } = hopRange(s);
  let minHostWidth = 0;
  for (let at = from; at < to; at++) {
    const hop = t.hops[at];
    if (hop === undefined || hop.responders.length < 2) continue;
    for (const r of hop.responders)
      minHostWidth = Math.max(minHostWidth, hostLabel(r.address, names, opts).length + SHARE_WIDTH);
  }
  const lines = (at: number, hostWidth: number): string[] | undefined => {
    const hop = t.hops[at];
    if (hop === undefined || hop.responders.length < 2) return undefined;
    return memberLines(hop, names, opts, hostWidth);
  };
  const table = renderReport(s, names, opts, { lines, minHostWidth });
  return [...table, ...flowLines(t, from, to)];
}
