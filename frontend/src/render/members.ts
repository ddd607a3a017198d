// The members report (--members, --flows): mtr's report table, and under every hop with more than one
// responder one line per member with its own statistics (the -o fields) and its share of the hop's probes;
// with flows, the hop's balancing and, after the table, each flow's path. Without those flags the plain
// report (report.ts) is printed, byte for byte mtr 0.95's.

import { fieldsOf } from '../fields.js';
import { fieldValue } from '../stats.js';
import type { FlowSnapshot, HopSnapshot, TargetSnapshot } from '../stats/types.js';
import { flowPorts } from '../engine/types.js';
import { formatField, formatIpinfo, hopRange, hostLabel, padRight } from './common.js';
import { xmlEscape } from './xml.js';
import { CSV_VERSION } from './csv.js';
import { jsonFields, Real, renderJson, type Json } from './json.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { renderReport } from './report.js';

const NARROW_HOST_COLUMN = 33;
/** what a member line has before its name beyond a hop row's prefix: the share (`  50% `) */
const SHARE_WIDTH = 5;

/** A member's share of the hop's probes, in percent (its replies and the losses charged to it). */
export function memberShare(hop: HopSnapshot, address: string): number {
  const r = hop.responders.find((x) => x.address === address);
  return r === undefined ? 0 : sharePct(r.stats.sent, memberProbes(hop.responders));
}

/** All members' probes at a hop: the replies and the losses charged to each, summed. */
export function memberProbes(responders: readonly { readonly stats: { readonly sent: number } }[]): number {
  return responders.reduce((n, r) => n + r.stats.sent, 0);
}

/** A member's share of its hop's probes, in percent (0 with none). */
export function sharePct(sent: number, total: number): number {
  return total === 0 ? 0 : (100 * sent) / total;
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

/**
 * `-C --members`: mtr 0.95's CSV with a `Share,` column, each hop row at share 100.00, and under every hop
 * with more than one responder one MEMBER row per responder (status column `MEMBER`) with its own -o
 * fields and its share of the hop's probes.
 */
export function renderMembersCsv(t: TargetSnapshot, s: Snapshot, names: Names, opts: RenderOptions, plain: string[]): string[] {
  if (plain.length === 0) return plain;
  const fields = fieldsOf(opts.order);
  const { from } = hopRange(s);
  const withAs = opts.ipinfo === 0;
  const out = [`${plain[0]}Share,`];
  for (let k = 1; k < plain.length; k++) {
    out.push(`${plain[k]},100.00`);
    const at = from + k - 1;
    const hop = t.hops[at];
    if (hop === undefined || hop.responders.length < 2) continue;
    for (const r of hop.responders) {
      let line = `MTR.${CSV_VERSION},${Math.floor(s.info.startTime / 1000)},MEMBER,${s.info.target},${at + 1},${hostLabel(r.address, names, opts)}`;
      if (withAs) line += ',' + formatIpinfo(r.address, names, 0).trim();
      for (const f of fields) {
        const x = fieldValue(r.stats, f.key);
        line += f.kind === 'int' ? `,${Math.trunc(x)}` : `,${x.toFixed(2)}`;
      }
      out.push(`${line},${memberShare(hop, r.address).toFixed(2)}`);
    }
  }
  return out;
}

/**
 * `-x --members`: mtr 0.95's XML, and inside every hop's <HUB> with more than one responder one
 * <MEMBER HOST= SHARE=> per responder with its own -o fields; with flows, the hop's <BALANCING> and one
 * <FLOW ID= HOST= LOSS= CHANGES=/> per flow (its responder at this hop).
 */
export function renderMembersXml(t: TargetSnapshot, s: Snapshot, names: Names, opts: RenderOptions, plain: string[]): string[] {
  const fields = fieldsOf(opts.order).filter((f) => f.key !== ' ');
  const { from } = hopRange(s);
  const out: string[] = [];
  let at = from;
  for (const line of plain) {
    if (line === '    </HUB>') {
      const hop = t.hops[at++];
      if (hop !== undefined && hop.responders.length > 1) {
        for (const r of hop.responders) {
          out.push(`        <MEMBER HOST="${xmlEscape(hostLabel(r.address, names, opts))}" SHARE="${memberShare(hop, r.address).toFixed(1)}%">`);
          for (const f of fields) {
            const tag = f.title === 'Loss%' ? 'Loss' : f.title;
            out.push(`            <${tag}>${formatField(f, fieldValue(r.stats, f.key))}</${tag}>`);
          }
          out.push('        </MEMBER>');
        }
      }
      if (hop?.balancing !== undefined) out.push(`        <BALANCING>${hop.balancing}</BALANCING>`);
      for (const f of hop?.flows ?? []) {
        const host = xmlEscape(f.responder ?? '???');
        out.push(`        <FLOW ID="${f.flow}" HOST="${host}" LOSS="${f.stats.lossPercent.toFixed(1)}%" CHANGES="${f.changes}"/>`);
      }
    }
    out.push(line);
  }
  return out;
}

/**
 * `-j --members` (and --flows): mtr 0.95's JSON with keys added, none changed. In every hub with more
 * than one responder, "members": one object per responder, {"host", "share" (percent of the hop's
 * probes), then its own -o fields as the hub has them}; with flows, the hub's "balancing" (when known)
 * and "flows": one {"id", "host" (its latest responder here), "Loss%", "changes"} per flow.
 */
export function renderMembersJson(t: TargetSnapshot, s: Snapshot, names: Names, opts: RenderOptions): string[] {
  return renderJson(s, names, opts, (at, hub) => {
    const hop = t.hops[at];
    if (hop === undefined) return;
    if (hop.responders.length > 1) {
      hub['members'] = hop.responders.map((r) => {
        const m: { [key: string]: Json } = {
          host: hostLabel(r.address, names, opts),
          share: new Real(Math.round(memberShare(hop, r.address) * 10) / 10),
        };
        jsonFields(r.stats, opts, m);
        return m;
      });
    }
    if (hop.balancing !== undefined) hub['balancing'] = hop.balancing;
    if (hop.flows !== undefined && hop.flows.length > 0) {
      hub['flows'] = hop.flows.map((f) => ({
        id: f.flow,
        host: f.responder ?? '???',
        'Loss%': new Real(Math.round(f.stats.lossPercent * 1000) / 1000),
        changes: f.changes,
      }));
    }
  });
}
