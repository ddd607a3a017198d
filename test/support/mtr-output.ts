// Parsers for mtr 0.95's text outputs (report, CSV), shared by the front-end lab tests.

/** One hop row of `mtr -n -r` / `mtr-ts -n -r`: `  1.|-- 10.0.1.2   0.0%    10    2.1 ...`. */
export interface ReportRow {
  hop: number;
  host: string;
  lossPct: number;
  sent: number;
}

/** The hop rows of a report (continuation lines for extra responders or MPLS labels are not hop rows). */
export function reportRows(report: string): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const line of report.split('\n')) {
    const m = /^\s*(\d+)\.\|--\s+(\S+)\s+(\d+(?:\.\d+)?)%?\s+(\d+)/.exec(line);
    if (m) rows.push({ hop: Number(m[1]), host: m[2]!, lossPct: Number(m[3]), sent: Number(m[4]) });
  }
  return rows;
}

/** `[hop, host]` of each row, for comparing paths. */
export function reportHops(report: string): Array<[number, string]> {
  return reportRows(report).map((r) => [r.hop, r.host]);
}

/** CSV lines split on commas (mtr's CSV has no quoting; the header ends with a comma). */
export function csvRows(csv: string): string[][] {
  return csv
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split(','));
}

/** The shape of a JSON value: key order and value types, recursively (arrays by their first element). */
export function jsonShape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [jsonShape(v[0])];
  if (v !== null && typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonShape(x)]);
  }
  return v === null ? 'null' : typeof v;
}
