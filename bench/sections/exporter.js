// 7. mtr-ts-exporter at scale: 100 and 1,000 targets, each traced every second, in the lab's client namespace:
// half loopback aliases (127.0.x.y, one hop), half lab addresses behind four hops (aliases on dest's lo,
// 10.9.x.y, routed by r3). Figures: CPU % of one core (exporter + packet program), RSS at start/middle/end
// (the exporter + its packet program), probes/s sustained, destination loss and probe errors (loss not
// caused by the network: the lab has none), beside mtr-exporter's way of doing it: one
// `mtr -n -r -c 10 --json TARGET` process per target per minute, all under one subreaper (lib/treemon.py) so
// every mtr and mtr-packet is counted.
//
// Duration per scale and side: MTRTS_BENCH_EXPORTER_SECONDS (default 600, the issue's 10 minutes; --quick: 30).
// MTRTS_BENCH_EXPORTER_SCALES (default "100,1000") and MTRTS_BENCH_EXPORTER_SIDES (default "ours,mtr") pick a
// part of the run, e.g. a short check of ours at 1,000 targets. MTRTS_BENCH_EXPORTER_NODE_FLAGS: node options
// for the exporter's process (heap flags to compare); MTRTS_BENCH_EXPORTER_STDOUT: a file for its output
// (e.g. what --trace-gc writes; '{n}' in it: the number of targets); MTRTS_BENCH_EXPORTER_CONFIG: more
// top-level configuration lines (e.g. `diagnosis: false`, to compare). RSS is read every 5 s (flatness()).
// Not in the default section list (2 scales x 2 sides x 10 minutes): run `pnpm bench -- --only exporter`.
import { readFileSync, writeFileSync, mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../lib/lab.js';
import { fmtNum } from '../lib/stats.js';
import { waitForBuild } from '../lib/daemon.js';

const TREEMON = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'treemon.py');
const EXPORTER = join(ROOT, 'frontend', 'bin', 'mtr-ts-exporter.js');
const LISTEN = '127.0.0.1:10310';
const CLK_TCK = 100;
/** RSS is read this often for the flatness test */
const SAMPLE_MS = 5_000;

/**
 * The flatness test (samples: [seconds, MB]) over the last 80 % of the run (after a fifth of it as warm-up: 2 of 10 minutes): the band
 * (max - min of the RSS samples, MB), the least-squares slope (MB per minute), and the rise the slope makes over
 * those minutes. Flat means: the band within 5 % of the median and the fitted rise within 2 % of the median
 * (at 450 MB: a 22 MB band, under ~1.1 MB a minute over 8 minutes). Both are reported, met or not.
 */
export function flatness(dense, seconds) {
  const pts = dense.filter(([t]) => t >= seconds / 5);
  if (pts.length < 3) return { ok: false, why: 'too few samples' };
  const mbs = pts.map(([, mb]) => mb);
  const sorted = [...mbs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const n = pts.length;
  const mt = pts.reduce((a, [t]) => a + t, 0) / n;
  const mm = mbs.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  pts.forEach(([t], i) => {
    num += (t - mt) * (mbs[i] - mm);
    den += (t - mt) * (t - mt);
  });
  const slopePerMin = (60 * num) / den;
  const minutes = (pts[n - 1][0] - pts[0][0]) / 60;
  const band = sorted[n - 1] - sorted[0];
  const rise = slopePerMin * minutes;
  return {
    from: Math.round(pts[0][0]),
    median: Math.round(median * 10) / 10,
    band: Math.round(band * 10) / 10,
    slopePerMin: Math.round(slopePerMin * 100) / 100,
    rise: Math.round(rise * 10) / 10,
    ok: band <= 0.05 * median && rise <= 0.02 * median,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function targetsOf(n) {
  const lo = [];
  const lab = [];
  for (let i = 0; i < n; i++) {
    const a = 1 + Math.floor(i / 2 / 250);
    const b = 1 + ((i >> 1) % 250);
    if (i % 2 === 0) lo.push(`127.0.${a}.${b}`);
    else lab.push(`10.9.${a}.${b}`);
  }
  return { lo, lab, all: [...lo, ...lab] };
}

async function prepareLab(lab, labAddrs) {
  await lab.exec('r3', ['ip', 'route', 'replace', '10.9.0.0/16', 'via', lab.hops4[3]]);
  const script = labAddrs.map((a) => `address replace ${a}/32 dev lo`).join('\n') + '\n';
  const r = await lab.exec('dest', ['ip', '-batch', '-', '-force'], { input: script, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`adding addresses on dest: ${r.stderr.slice(0, 200)}`);
}

/** CPU ticks and VmRSS (kB) of a process; undefined when gone. */
function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    // context switches: how often the process went to sleep and woke (or was preempted)
    const ctx = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { pid, ticks: Number(f[11]) + Number(f[12]), user: Number(f[11]), rss, ctx };
  } catch {
    return undefined;
  }
}

/** the host's 1/5/15-minute load averages */
function loadavg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function metrics(lab) {
  const script = `fetch('http://${LISTEN}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), () => {})`;
  const r = await lab.exec('client', [process.execPath, '-e', script], { timeoutMs: 30_000 });
  const sum = (name) =>
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
      .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  return {
    sent: sum('mtrts_probes_sent_total'),
    destProbes: sum('mtrts_destination_probes_total'),
    destReplies: sum('mtrts_destination_replies_total'),
    errors: sum('mtrts_probe_errors_total'),
    deferred: sum('mtrts_probes_deferred_total'),
    restarts: sum('mtrts_packet_daemon_restarts_total'),
    heapUsed: sum('nodejs_heap_size_used_bytes'),
  };
}

async function runOurs(ctx, lab, targets, seconds, dir) {
  const cfg = join(dir, 'exporter.yml');
  writeFileSync(
    cfg,
    [
      'defaults: {interval: 1s, timeout: 2, max_ttl: 8}',
      'per_hop: counters',
      ...(process.env.MTRTS_BENCH_EXPORTER_CONFIG ?? '').split('\\n').filter(Boolean),
      // lab routers do not limit their ICMP: the per-router budget would only slow the 500 lab targets down
      'budget: {probes_per_second: 20000, router_probes_per_second: 100000, router_burst: 100000, max_in_flight: 9000}',
      'targets:',
      ...targets.map((t, i) => `  - {name: t${i}, host: ${t}}`),
      '',
    ].join('\n'),
  );
  await waitForBuild();
  const flags = (process.env.MTRTS_BENCH_EXPORTER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const out = process.env.MTRTS_BENCH_EXPORTER_STDOUT
    ? openSync(process.env.MTRTS_BENCH_EXPORTER_STDOUT.replace('{n}', String(targets.length)), 'w')
    : 'ignore';
  const child = lab.spawnIn('client', process.execPath, [...flags, EXPORTER, `--config.file=${cfg}`, `--web.listen-address=${LISTEN}`], {
    stdio: ['ignore', out, 'pipe'],
  });
  if (typeof out === 'number') closeSync(out);
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  const pid = child.pid;
  const tree = () => [pid, ...childrenOf(pid)];
  const sample = () => tree().map(procStat).filter(Boolean);
  const warm = Math.min(10, seconds / 3);
  await sleep(warm * 1000);
  const m0 = await metrics(lab);
  const load0 = loadavg();
  const s0 = sample();
  const t0 = Date.now();
  const rssNow = () => sample().reduce((a, s) => a + s.rss, 0);
  const rss = { start: rssNow(), series: [], dense: [] };
  // RSS every SAMPLE_MS (the flatness test below) and every tenth of the run (the table), the middle one named
  let k = 0;
  while (k < 10) {
    await sleep(Math.min(SAMPLE_MS, t0 + ((k + 1) * seconds * 1000) / 10 - Date.now()));
    const now = rssNow();
    rss.dense.push([(Date.now() - t0) / 1000, now / 1024]);
    if (Date.now() >= t0 + ((k + 1) * seconds * 1000) / 10 - 50) {
      k++;
      if (k < 10) rss.series.push(Math.round(now / 1024));
      if (k === 5) rss.middle = now;
    }
  }
  rss.flat = flatness(rss.dense, seconds);
  const s1 = sample();
  const wall = (Date.now() - t0) / 1000;
  const m1 = await metrics(lab);
  rss.end = s1.reduce((a, s) => a + s.rss, 0);
  const daemons = s1.length - 1;
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(20_000).then(() => 'hung')]);
  const ticks = s1.reduce((a, s) => a + s.ticks, 0) - s0.reduce((a, s) => a + s.ticks, 0);
  // per process (exporter first, then its packet program): CPU % and context switches per probe sent
  const perProcess = s1.map((x) => {
    const y = s0.find((z) => z.pid === x.pid) ?? { ticks: 0, ctx: 0 };
    return { cpuPct: (100 * (x.ticks - y.ticks)) / CLK_TCK / wall, ctxPerProbe: (x.ctx - y.ctx) / Math.max(1, m1.sent - m0.sent) };
  });
  const r = {
    cpuPct: (100 * ticks) / CLK_TCK / wall,
    perProcess,
    rss,
    pps: (m1.sent - m0.sent) / wall,
    destLoss: 1 - (m1.destReplies - m0.destReplies) / Math.max(1, m1.destProbes - m0.destProbes),
    errors: m1.errors - m0.errors,
    deferred: m1.deferred - m0.deferred,
    restarts: m1.restarts,
    heapUsedMb: { start: m0.heapUsed / 1048576, end: m1.heapUsed / 1048576 },
    load: { start: load0, end: loadavg() },
    daemons,
    exit: code,
    err: err.trim().split('\n').slice(-3).join(' / '),
  };
  ctx.log(`exporter ours ${targets.length}: ${JSON.stringify(r)}`);
  return r;
}

/** mtr-exporter's way: one `mtr -n -r -c 10 --json` per target per minute, spread over the minute. */
async function runMtrWay(ctx, lab, targets, seconds) {
  const script = `
const { spawn } = require('node:child_process');
const targets = ${JSON.stringify(targets)};
const seconds = ${seconds};
const gap = 60000 / targets.length;
let i = 0, running = 0, started = 0, failed = 0;
const t0 = Date.now();
const next = () => {
  if (Date.now() - t0 >= seconds * 1000) return;
  const t = targets[i++ % targets.length];
  running++; started++;
  const c = spawn('mtr', ['-n', '-r', '-c', '10', '--json', t], { stdio: 'ignore' });
  c.on('exit', (code) => { running--; if (code !== 0) failed++; });
  setTimeout(next, gap);
};
next();
const done = setInterval(() => {
  if (Date.now() - t0 >= seconds * 1000 && running === 0) {
    clearInterval(done);
    process.stdout.write(JSON.stringify({ started, failed }));
  }
}, 200);
`;
  const child = lab.spawnIn('client', 'python3', [TREEMON, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const t0 = Date.now();
  await new Promise((r) => child.on('close', r));
  const wall = (Date.now() - t0) / 1000;
  const m = err.match(/^TREEMON (.*)$/m);
  if (!m) return { error: `no measurement: ${err.slice(0, 200)}` };
  const t = JSON.parse(m[1]);
  const runs = out ? JSON.parse(out) : {};
  const r = { cpuPct: (100 * t.cpu) / wall, peakRssMb: t.peakRssSumKb / 1024, processes: t.processes, wall, ...runs };
  ctx.log(`exporter mtr-way ${targets.length}: ${JSON.stringify(r)}`);
  return r;
}

const skippedOurs = { cpuPct: NaN, rss: { start: NaN, middle: NaN, end: NaN, series: [] }, pps: NaN, destLoss: NaN };

export async function exporter(ctx) {
  const seconds = Number(process.env.MTRTS_BENCH_EXPORTER_SECONDS ?? (ctx.quick ? 30 : 600));
  const scales = (process.env.MTRTS_BENCH_EXPORTER_SCALES ?? '100,1000').split(',').map(Number).filter((n) => n > 0);
  const sides = (process.env.MTRTS_BENCH_EXPORTER_SIDES ?? 'ours,mtr').split(',');
  const lab = await ctx.lab();
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-bench-exporter-'));
  try {
    for (const n of scales) {
      const t = targetsOf(n);
      await prepareLab(lab, t.lab);
      const ours = sides.includes('ours') ? await runOurs(ctx, lab, t.all, seconds, dir) : skippedOurs;
      const ref = sides.includes('mtr') ? await runMtrWay(ctx, lab, t.all, seconds) : { error: 'not run (MTRTS_BENCH_EXPORTER_SIDES)' };
      const mb = (kb) => fmtNum(kb / 1024, 1);
      ctx.table.add({
        section: '7 exporter',
        figure: `${n} targets (${t.lo.length} loopback, ${t.lab.length} lab behind 4 hops), each traced every second, ${seconds} s: CPU % of one core (ours: exporter + packet program; ref: mtr-exporter's way, one \`mtr -r -c 10 --json\` per target per minute)`,
        ours: ours.cpuPct,
        ref: ref.error ? `error: ${ref.error}` : ref.cpuPct,
        digits: 1,
        unit: '%',
        note:
          `ours: RSS start/middle/end ${mb(ours.rss.start)}/${mb(ours.rss.middle)}/${mb(ours.rss.end)} MB (every tenth of the run: ${ours.rss.series.join(', ')} MB; ` +
          `flat from ${ours.rss.flat?.from} s: ${ours.rss.flat?.ok ? 'yes' : 'no'}, band ${ours.rss.flat?.band} MB around ${ours.rss.flat?.median}, fitted rise ${ours.rss.flat?.rise} MB), ` +
          `load ${ours.load?.start?.join(' ')} -> ${ours.load?.end?.join(' ')}, ` +
          `CPU % / context switches per probe: ${(ours.perProcess ?? []).map((p) => `${fmtNum(p.cpuPct, 1)} / ${fmtNum(p.ctxPerProbe, 2)}`).join(' (exporter), ')} (packet program), ${fmtNum(ours.pps, 0)} probes/s (a trace per second of every hop is ${fmtNum(t.lo.length + 4 * t.lab.length, 0)}/s), ` +
          `destination loss ${fmtNum(100 * ours.destLoss, 2)} %, ${ours.errors} probe errors, ${ours.deferred} deferrals, ` +
          `${ours.daemons} packet program(s), ${ours.restarts} restarts, exit ${ours.exit}; ` +
          (ref.error ? '' : `ref: ${ref.started} mtr runs (${ref.failed} failed), ${ref.processes} processes, peak RSS (sum) ${fmtNum(ref.peakRssMb, 1)} MB, ${fmtNum(ref.wall, 0)} s wall incl. the last runs`),
      });
      ctx.table.add({
        section: '7 exporter',
        figure: `same, ${n} targets: memory (ours: RSS at the end, exporter + packet program; ref: peak of the sum of every process's RSS)`,
        ours: ours.rss.end / 1024,
        ref: ref.error ? `error: ${ref.error}` : ref.peakRssMb,
        digits: 1,
        unit: 'MB',
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
