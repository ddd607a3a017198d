// The outputs that print one document per target when it is over: mtr 0.95's report (-r), wide report
// (-w), JSON (-j), CSV (-C) and XML (-x).

import { renderReport, renderReportHeader } from '../render/report.js';
import { renderJson } from '../render/json.js';
import { renderCsv } from '../render/csv.js';
import { renderXml } from '../render/xml.js';
import { renderMembersCsv, renderMembersJson, renderMembersReport, renderMembersXml } from '../render/members.js';
import type { Names, RenderOptions, Snapshot } from '../render/model.js';
import { mtrSnapshot } from './mtr-snapshot.js';
import type { Output, OutputContext } from './types.js';

type Render = (s: Snapshot, names: Names, opts: RenderOptions) => string[];

const reportWithHeader: Render = (s, names, opts) => [...renderReportHeader(s), ...renderReport(s, names, opts)];

export const FINAL_RENDERERS = {
  report: reportWithHeader,
  wide: reportWithHeader,
  json: renderJson,
  csv: renderCsv,
  xml: renderXml,
} as const satisfies Record<string, Render>;

export function finalOutput(render: Render, ctx: OutputContext): Output {
  return { final: (s) => render(mtrSnapshot(s, ctx.localHostname), ctx.names, ctx.render) };
}

/** -r / -w: with --members or --flows, the members report; otherwise mtr 0.95's. */
export function reportOutput(ctx: OutputContext): Output {
  if (!ctx.cfg.members) return finalOutput(reportWithHeader, ctx);
  return {
    final: (t) => {
      const s = mtrSnapshot(t, ctx.localHostname);
      return [...renderReportHeader(s), ...renderMembersReport(t, s, ctx.names, ctx.render)];
    },
  };
}

/** -j: with --members or --flows, members (and flows) keys added to the hubs; otherwise mtr 0.95's. */
export function jsonOutput(ctx: OutputContext): Output {
  if (!ctx.cfg.members) return finalOutput(FINAL_RENDERERS.json, ctx);
  return { final: (t) => renderMembersJson(t, mtrSnapshot(t, ctx.localHostname), ctx.names, ctx.render) };
}

/** -C / -x: with --members or --flows, member rows (and, in XML, the flows) added; otherwise mtr 0.95's. */
export function membersOutput(kind: 'csv' | 'xml', ctx: OutputContext): Output {
  if (!ctx.cfg.members) return finalOutput(FINAL_RENDERERS[kind], ctx);
  return {
    final: (t) => {
      const s = mtrSnapshot(t, ctx.localHostname);
      const plain = FINAL_RENDERERS[kind](s, ctx.names, ctx.render);
      return kind === 'csv' ? renderMembersCsv(t, s, ctx.names, ctx.render, plain) : renderMembersXml(t, s, ctx.names, ctx.render, plain);
    },
  };
}
