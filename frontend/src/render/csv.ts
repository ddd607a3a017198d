// `mtr -C`, as mtr 0.95's csv_close: a header line before the first hop, then one line per hop:
// MTR.<version>,<start time, s>,OK,<target>,<hop>,<host>[,<AS>] then every -o field, the spacer
// included (it shows Drop, as in mtr), floats with two decimals. Every header title ends with ','.

import { fieldsOf } from '../fields.js';
import { fieldValue, viewHop, EMPTY_HOP } from '../stats.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { formatIpinfo, hopRange, hostLabel } from './common.js';

/** The version written in the first column; scripts written for mtr 0.95 check it. */
export const CSV_VERSION = '0.95';

export function renderCsv(s: Snapshot, names: Names, opts: RenderOptions): string[] {
  const fields = fieldsOf(opts.order);
  const { from, to } = hopRange(s);
  const out: string[] = [];
  const withAs = opts.ipinfo === 0;
  for (let at = from; at < to; at++) {
    if (at === from) {
      let h = 'Mtr_Version,Start_Time,Status,Host,Hop,Ip,';
      if (withAs) h += 'Asn,';
      for (const f of fields) h += `${f.title},`;
      out.push(h);
    }
    const hop = s.hops[at] ?? EMPTY_HOP;
    let line = `MTR.${CSV_VERSION},${Math.floor(s.info.startTime / 1000)},OK,${s.info.target},${at + 1},${hostLabel(hop.address, names, opts)}`;
    if (withAs) line += ',' + formatIpinfo(hop.address, names, 0).trim();
    const v = viewHop(hop);
    for (const f of fields) {
      const x = fieldValue(v, f.key);
      line += f.kind === 'int' ? `,${Math.trunc(x)}` : `,${x.toFixed(2)}`;
    }
    out.push(line);
  }
  return out;
}
