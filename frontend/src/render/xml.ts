// `mtr -x`, as mtr 0.95's xml_close: one <HUB> per hop, one element per -o field (the spacer is
// skipped), values in the report's printf shapes; "Loss%" is written <Loss>.

import { fieldsOf } from '../fields.js';
import { fieldValue, viewHop } from '../stats.js';
import type { Names, RenderOptions, Snapshot } from './model.js';
import { formatField, hopRange, hostLabel } from './common.js';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderXml(s: Snapshot, names: Names, opts: RenderOptions): string[] {
  const fields = fieldsOf(opts.order).filter((f) => f.key !== ' ');
  const { from, to } = hopRange(s);
  const i = s.info;
  const out = [
    '<?xml version="1.0"?>',
    `<MTR SRC="${xmlEscape(i.localHostname)}" DST="${xmlEscape(i.target)}" TOS="0x${i.tos.toString(16).toUpperCase()}"` +
      ` PSIZE="${i.psize}" BITPATTERN="0x${(i.bitpattern & 0xff).toString(16).toUpperCase().padStart(2, '0')}" TESTS="${i.tests}">`,
  ];
  for (let at = from; at < to; at++) {
    const hop = s.hops[at];
    out.push(`    <HUB COUNT="${at + 1}" HOST="${xmlEscape(hostLabel(hop?.address, names, opts))}">`);
    if (hop !== undefined) {
      const v = viewHop(hop);
      for (const f of fields) {
        const tag = f.title === 'Loss%' ? 'Loss' : f.title;
        out.push(`        <${tag}>${formatField(f, fieldValue(v, f.key))}</${tag}>`);
      }
    }
    out.push('    </HUB>');
  }
  out.push('</MTR>');
  return out;
}
