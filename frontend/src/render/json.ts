// `mtr -j`, in mtr 0.95's shape (jansson, 4-space indent): report.mtr {src,dst,tos,tests,psize,
// bitpattern}, report.hubs [{count, host, [ASN], one key per -o field}]. Counts are integers; RTTs
// are milliseconds and Loss% percent, as JSON reals rounded to the microsecond (3 decimals), always
// written with a fraction or exponent ("0.0"), as jansson does. Extra, only when a hop had more than
// one responder: "responders": [{"host", "count"}] listing each with its reply count. With --members
// (or --flows), members.ts adds more keys through `extend` (renderMembersJson).

import { fieldsOf } from '../fields.js';
import { fieldValue, viewHop } from '../stats.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { formatIpinfo, hopRange, hostLabel } from './common.js';

/** A JSON real: printed with a fraction even when integral. */
export class Real {
  constructor(readonly value: number) {}
}

export type Json = string | number | Real | boolean | null | Json[] | { [key: string]: Json };

/** The -o fields of a hop or member as -j writes them: integers, or reals rounded to 3 decimals. */
export function jsonFields(stats: Parameters<typeof fieldValue>[0], opts: RenderOptions, into: { [key: string]: Json }): void {
  for (const f of fieldsOf(opts.order)) {
    if (f.key === ' ') continue;
    const x = fieldValue(stats, f.key);
    into[f.title] = f.kind === 'int' ? Math.trunc(x) : new Real(round3(x));
  }
}

export function realText(v: number): string {
  if (!Number.isFinite(v)) return '0.0';
  const s = String(v);
  return /[.eE]/.test(s) ? s : s + '.0';
}

/** JSON text with jansson's indent layout (4 spaces, ", " never used, "key": value). */
export function jsonLines(value: Json, indent = 4): string[] {
  const text = write(value, 0, indent);
  return text.split('\n');
}

function write(v: Json, depth: number, step: number): string {
  if (v instanceof Real) return realText(v.value);
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const pad = ' '.repeat((depth + 1) * step);
  const end = ' '.repeat(depth * step);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[\n' + v.map((x) => pad + write(x, depth + 1, step)).join(',\n') + '\n' + end + ']';
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  return '{\n' + keys.map((k) => `${pad}${JSON.stringify(k)}: ${write(v[k] as Json, depth + 1, step)}`).join(',\n') + '\n' + end + '}';
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function renderJson(
  s: Snapshot,
  names: Names,
  opts: RenderOptions,
  extend?: (at: number, hub: { [key: string]: Json }) => void,
): string[] {
  const { from, to } = hopRange(s);
  const hubs: Json[] = [];
  for (let at = from; at < to; at++) {
    const hop = s.hops[at];
    const hub: { [key: string]: Json } = { count: at + 1, host: hostLabel(hop?.address, names, opts) };
    if (opts.ipinfo === 0) hub['ASN'] = formatIpinfo(hop?.address, names, 0).trim();
    if (hop !== undefined) {
      jsonFields(viewHop(hop), opts, hub);
      if (hop.responders.length > 1) {
        hub['responders'] = hop.responders.map((r) => ({ host: hostLabel(r.address, names, opts), count: r.count }));
      }
    }
    extend?.(at, hub);
    hubs.push(hub);
  }
  const doc: Json = {
    report: {
      mtr: {
        src: s.info.localHostname,
        dst: s.info.target,
        tos: s.info.tos,
        tests: s.info.tests,
        psize: String(s.info.psize),
        bitpattern: '0x' + (s.info.bitpattern & 0xff).toString(16).toUpperCase().padStart(2, '0'),
      },
      hubs,
    },
  };
  return jsonLines(doc);
}
