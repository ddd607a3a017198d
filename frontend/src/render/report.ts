// `mtr -r` and `mtr -w`: the report table, as mtr 0.95's report_close prints it.
//
// Not-wide: the host column is 33 characters counted from the start of the line; longer names are
// cut there (mtr writes the fields over them). Wide: the column fits the longest name.
// Where mtr 0.95 loses lines, we print them: ECMP responders and MPLS labels (with -e) are listed
// under their hop whether or not -z/-y is given (0.95 shows them only with -z/-y).

import { fieldsOf } from '../fields.js';
import { fieldValue, viewHop } from '../stats.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { formatField, formatIpinfo, hopRange, hostLabel, ipinfoWidth, isoTime, mplsText, padRight } from './common.js';

const NARROW_HOST_COLUMN = 33;

export function renderReportHeader(s: Snapshot): string[] {
  return [`Start: ${isoTime(s.info.startTime)}`];
}

/** Lines that replace a hop's list of other responders (the members report); undefined: mtr's list. */
export type HopExtra = (at: number, hostWidth: number) => string[] | undefined;

/**
 * `extra` (the members report): its lines replace a hop's responder list; `minHostWidth` widens the wide
 * report's host column so they fit.
 */
export function renderReport(
  s: Snapshot,
  names: Names,
  opts: RenderOptions,
  extra?: { lines: HopExtra; minHostWidth: number },
): string[] {
  const out: string[] = [];
  const fields = fieldsOf(opts.order);
  const { from, to } = hopRange(s);
  const ipinfo = opts.ipinfo;

  let hostWidth = NARROW_HOST_COLUMN;
  if (opts.wide) {
    hostWidth = s.info.localHostname.length;
    for (let at = from; at < to; at++) {
      const len = hostLabel(s.hops[at]?.address, names, opts).length;
      if (len > hostWidth) hostWidth = len;
    }
    if (extra !== undefined && extra.minHostWidth > hostWidth) hostWidth = extra.minHostWidth;
  }
  let headerWidth = hostWidth;
  if (ipinfo !== undefined && opts.wide) {
    headerWidth = hostWidth + ipinfoWidth(ipinfo) + (ipinfo === 0 ? 2 : 0);
    hostWidth += 1;
  }

  let header = 'HOST: ' + padRight(s.info.localHostname, headerWidth);
  if (!opts.wide) header = padRight(header.slice(0, NARROW_HOST_COLUMN), NARROW_HOST_COLUMN);
  for (const f of fields) header += f.title.padStart(f.width, ' ');
  out.push(header);

  for (let at = from; at < to; at++) {
    const hop = s.hops[at];
    const address = hop?.address;
    const name = hostLabel(address, names, opts);
    const num = String(at + 1).padStart(2, ' ');
    let row =
      ipinfo !== undefined
        ? ` ${num}. ${formatIpinfo(address, names, ipinfo)}${padRight(name, hostWidth)}`
        : ` ${num}.|-- ${padRight(name, hostWidth)}`;
    if (!opts.wide) row = padRight(row.slice(0, NARROW_HOST_COLUMN), NARROW_HOST_COLUMN);
    if (hop !== undefined) {
      const v = viewHop(hop);
      for (const f of fields) row += formatField(f, fieldValue(v, f.key));
    }
    out.push(row);
    if (hop === undefined) continue;
    const replaced = extra?.lines(at, hostWidth);
    if (replaced !== undefined) {
      out.push(...replaced);
      continue;
    }

    const others = hop.responders.filter((r) => r.address !== address);
    const labels = opts.mpls ? hop.mpls : [];
    if (ipinfo !== undefined) {
      for (const l of labels) out.push(`       ${mplsText(l)}`);
      for (const r of others) {
        out.push(`     ${formatIpinfo(r.address, names, ipinfo)}${hostLabel(r.address, names, opts)}`);
        if (opts.mpls) for (const l of r.mpls) out.push(`       ${mplsText(l)}`);
      }
    } else if (others.length > 0) {
      for (const l of labels) out.push(`    |  |+-- ${mplsText(l)}`);
      others.forEach((r, i) => {
        out.push(i === 0 ? `    |  \`|-- ${r.address}` : `    |   |-- ${r.address}`);
        if (opts.mpls) for (const l of r.mpls) out.push(`    |   +-- ${mplsText(l)}`);
      });
    } else {
      for (const l of labels) out.push(`    |   +-- ${mplsText(l)}`);
    }
  }
  return out;
}
