// 5. Front-end: CPU and peak RSS of `mtr-ts -n -r -c 10 -i 0.1 <lab dest>` beside `mtr -n -r -c 10 -i 0.1`,
// in the lab client namespace, front-end and packet child counted together (lib/treemon.py).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../lib/lab.js';
import { median, fmtNum } from '../lib/stats.js';
import { waitForBuild } from '../lib/daemon.js';

const TREEMON = join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'treemon.py');
const MTR_TS = join(ROOT, 'frontend', 'bin', 'mtr-ts.js');

function monitored(ns, argv, timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const c = spawn('python3', [TREEMON, 'ip', 'netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    const t = setTimeout(() => c.kill('SIGTERM'), timeoutMs);
    c.on('close', () => {
      clearTimeout(t);
      const m = err.match(/^TREEMON (.*)$/m);
      if (!m) return resolve({ error: `no measurement: ${err.trim().slice(0, 200)}` });
      const r = JSON.parse(m[1]);
      const hops = out.split('\n').filter((l) => /^\s*\d+\.\|--/.test(l));
      r.out = out;
      r.hops = hops.length;
      if (r.exit !== 0) r.error = `exit ${r.exit}: ${err.replace(/^TREEMON.*$/m, '').trim().slice(0, 200)}`;
      else if (!hops.length) r.error = `no hop lines in the report: ${out.trim().slice(0, 200)}`;
      resolve(r);
    });
  });
}

export async function frontend(ctx) {
  const lab = await ctx.lab();
  const dst = lab.hops4[3];
  const args = ['-n', '-r', '-c', '10', '-i', '0.1', dst];
  const reps = ctx.quick ? 1 : 3;
  const have = existsSync(MTR_TS);
  const res = { ours: [], ref: [] };
  for (let rep = 0; rep < reps; rep++)
    for (const which of ctx.order(rep)) {
      if (which === 'ours' && !have) continue;
      if (which === 'ours') await waitForBuild();
      const argv = which === 'ours' ? [process.execPath, MTR_TS, ...args] : ['mtr', ...args];
      const r = await monitored(lab.names.client, argv);
      res[which].push(r);
      ctx.log(`frontend ${which}: ${r.error ?? `cpu ${r.cpu.toFixed(3)} s, hwm sum ${r.hwmSumKb} kB, ${r.hops} hops, ${r.elapsed.toFixed(1)} s`}`);
    }
  const fig = (w, f) => {
    if (w === 'ours' && !have) return 'n/a';
    const ok = res[w].filter((r) => !r.error);
    return ok.length ? median(ok.map(f)) : `error: ${res[w][0]?.error}`;
  };
  const note = (w) => {
    const ok = res[w].filter((r) => !r.error);
    if (!ok.length) return '—';
    return `${ok[0].processes} processes, ${ok[0].hops} hops, ${fmtNum(median(ok.map((r) => r.elapsed)), 1)} s wall, sampled combined VmRSS peak ${fmtNum(median(ok.map((r) => r.peakRssSumKb / 1024)), 1)} MB`;
  };
  ctx.table.add({
    section: '5 front-end',
    figure: `\`-n -r -c 10 -i 0.1 ${dst}\` in the lab: CPU user+sys, front-end + packet child`,
    ours: fig('ours', (r) => r.cpu * 1000),
    ref: fig('ref', (r) => r.cpu * 1000),
    unit: 'ms',
    target: { kind: 'ratio-max', value: 5, text: '≤ 5x' },
    note: `median of ${reps}; ours: ${note('ours')}; ref: ${note('ref')}`,
  });
  ctx.table.add({
    section: '5 front-end',
    figure: 'same: peak RSS, front-end + packet child (sum of each VmHWM)',
    ours: fig('ours', (r) => r.hwmSumKb / 1024),
    ref: fig('ref', (r) => r.hwmSumKb / 1024),
    digits: 1,
    unit: 'MB',
    target: { kind: 'abs-max', value: 110, text: 'ours ≤ 110 MB' },
  });
}
