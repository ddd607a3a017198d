// 1. Throughput to 127.0.0.1: ICMP / UDP / TCP (closed port), all-at-once and 100-in-flight, probes per second
// and daemon CPU per 1,000 probes. Fresh daemon per run; ours and the reference alternate per repetition.
import { Daemon, runProbes } from '../lib/daemon.js';
import { median, fmtNum } from '../lib/stats.js';

export const CLOSED_PORT = 9; // checked closed (TCP and UDP) by ctx.checkClosedPort before the run

const mkCmd = (proto) =>
  proto === 'icmp'
    ? () => 'send-probe ip-4 127.0.0.1 timeout 2'
    : () => `send-probe ip-4 127.0.0.1 protocol ${proto} port ${CLOSED_PORT} timeout 2`;

/** One run: fresh daemon, ready, probes, CPU/RSS read before stdin closes, then EOF and exit status. */
export async function oneRun(which, proto, count, window) {
  const d = await Daemon.start(which);
  try {
    await d.ready();
    const r = await runProbes(d, count, mkCmd(proto), { window, timeoutMs: 180_000 });
    const ex = await d.close();
    if (!r.error && (ex.signal || ex.code)) r.error = `exit ${ex.signal ?? ex.code}`;
    return r;
  } catch (e) {
    d.kill();
    return { error: e.message };
  }
}

export function summarize(runs) {
  const ok = runs.filter((r) => !r.error);
  if (!ok.length) return { error: runs[0]?.error ?? 'no run' };
  const kinds = {};
  for (const r of ok) for (const [k, n] of Object.entries(r.kinds)) kinds[k] = (kinds[k] ?? 0) + n / ok.length;
  const unsupported = Object.keys(kinds).some((k) => k.includes('protocol-not-supported'));
  return {
    rate: median(ok.map((r) => r.rate)),
    cpuPer1k: median(ok.map((r) => (r.cpuS * 1e6) / r.count)), // ms per 1,000 probes
    kinds,
    unsupported,
    errors: runs.length - ok.length,
    drops: median(ok.map((r) => r.drops)),
  };
}

export const kindsText = (k) =>
  Object.entries(k ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([n, c]) => `${n.replace('invalid-argument reason ', 'invalid-argument ')} ${fmtNum(c)}`)
    .join(', ');

export async function throughput(ctx) {
  const counts = ctx.quick ? [2_000, 10_000] : [10_000, 50_000];
  const reps = ctx.quick ? 1 : 5;
  const protos = ['icmp', 'udp', 'tcp'];
  const modes = [100, undefined];
  const res = {};
  for (let rep = 0; rep < reps; rep++) {
    for (const count of counts)
      for (const proto of protos)
        for (const window of modes)
          for (const which of ctx.order(rep)) {
            const key = `${proto}/${count}/${window ?? 'all'}`;
            const r = await oneRun(which, proto, count, window);
            ((res[key] ??= { ours: [], ref: [] })[which]).push(r);
            ctx.log(`throughput ${key} ${which}: ${r.error ?? `${fmtNum(r.rate)}/s cpu ${r.cpuS?.toFixed(2)} s ${kindsText(r.kinds)}`}`);
          }
  }
  for (const window of modes)
    for (const count of counts)
      for (const proto of protos) {
        const key = `${proto}/${count}/${window ?? 'all'}`;
        const o = summarize(res[key].ours);
        const f = summarize(res[key].ref);
        const cellO = (v) => (o.error ? `error: ${o.error}` : o.unsupported ? 'unsupported' : v);
        const cellR = (v) => (f.error ? `error: ${f.error}` : f.unsupported ? 'unsupported' : v);
        const mode = window ? `${window} in flight` : 'all at once';
        const P = proto.toUpperCase();
        const dropsText = (x) => (x.drops ? `, kernel socket drops ${fmtNum(x.drops)}` : '');
        const note = `replies ours: ${o.error ? '—' : kindsText(o.kinds) + dropsText(o)}; ref: ${f.error ? '—' : kindsText(f.kinds) + dropsText(f)}${
          window ? '' : '; all at once is not the headline: replies other than `reply` (probes-exhausted beyond the in-flight limit, no-reply after the 2 s timeout for replies the kernel dropped) count as answered'
        }`;
        ctx.table.add({
          section: '1 throughput',
          figure: `${P} ${fmtNum(count)} probes, ${mode}: probes/s`,
          ours: cellO(o.rate),
          ref: cellR(f.rate),
          target: window ? { kind: 'ratio-min', value: 2, text: '≥ 2x' } : undefined,
          note,
        });
        ctx.table.add({
          section: '1 throughput',
          figure: `${P} ${fmtNum(count)} probes, ${mode}: CPU ms per 1,000 probes`,
          ours: cellO(o.cpuPer1k),
          ref: cellR(f.cpuPer1k),
          digits: 1,
          unit: 'ms',
          target: window ? { kind: 'ratio-max', value: 1, text: '≤ 1x' } : undefined,
        });
      }
}
