// Small shared pieces: printf-like number formatting, which hops a report shows, how a host is named.

import type { HopState } from '../stats.js';
import type { FieldDef } from '../fields.js';
import { pathExtent } from '../stats/path.js';
import type { Names, RenderOptions, Snapshot } from './model.js';

/** C's `%W.Pf`. */
export function fixed(value: number, precision: number, width: number): string {
  const v = Number.isFinite(value) ? value : 0;
  return v.toFixed(precision).padStart(width, ' ');
}

/** C's `%Wd` of a truncated integer. */
export function int(value: number, width: number): string {
  return String(Math.trunc(value)).padStart(width, ' ');
}

export function padRight(s: string, width: number): string {
  return s.length >= width ? s : s + ' '.repeat(width - s.length);
}

/** One column as mtr prints it in a report row: leading space included. */
export function formatField(def: FieldDef, value: number): string {
  if (def.key === ' ') return ' ';
  if (def.kind === 'int') return ' ' + int(value, def.numWidth);
  return ' ' + fixed(value, 1, def.numWidth) + (def.percent ? '%' : '');
}

/**
 * The TTL indexes (0-based, [from, to)) a report shows, as mtr's net_min/net_max: up to the
 * destination or the first hop that answered with an unreachable error; otherwise one hop past
 * the last hop that answered, capped at the max TTL.
 */
export function hopRange(s: Snapshot): { from: number; to: number } {
  const { from, to } = pathExtent(s.hops, s.info.targetAddress, s.firstTtl, s.maxTtl);
  return { from, to };
}

export function hopAt(s: Snapshot, at: number): HopState | undefined {
  return s.hops[at];
}

/** mtr's snprint_addr: "???" when nobody answered, else the name, "name (ip)" with -b, or the IP. */
export function hostLabel(address: string | undefined, names: Names, opts: RenderOptions): string {
  if (address === undefined) return '???';
  const name = opts.dns ? names.host(address) : undefined;
  if (name === undefined) return address;
  return opts.showIps ? `${name} (${address})` : name;
}

/** widths of the IP-info items: ASN, route, country, registry, allocated (item + space) */
export const IPINFO_WIDTH = [7, 19, 4, 8, 11] as const;

export function ipinfoWidth(n: number): number {
  return IPINFO_WIDTH[n % IPINFO_WIDTH.length] as number;
}

/** mtr's fmt_ipinfo: "AS" + item padded for item 0, the item padded otherwise; "???" when unknown. */
export function formatIpinfo(address: string | undefined, names: Names, n: number): string {
  const item = (address === undefined ? undefined : names.ipinfo(address)) ?? '???';
  return (n === 0 ? 'AS' : '') + padRight(item, ipinfoWidth(n));
}

/** C's `%04d-%02d-%02dT%02d:%02d:%02d%+05d` local time, as mtr's iso_time. */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return (
    `${p(d.getFullYear(), 4)}-${p(d.getMonth() + 1)}-${p(d.getDate())}T` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${sign}${p(Math.floor(a / 60))}${p(a % 60)}`
  );
}

export function mplsText(l: { label: number; tc: number; bottomOfStack: number; ttl: number }): string {
  return `[MPLS: Lbl ${l.label} Exp ${l.tc} S ${l.bottomOfStack} TTL ${l.ttl}]`;
}
