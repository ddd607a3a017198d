// --profile (not part of the default run): V8 CPU profile of ours (node --cpu-prof) during the headline
// throughput case, ICMP 50,000 probes to 127.0.0.1 with 100 in flight; self time per function, top 20, as
// extra rows of the table (section "profile") and in full in bench/results/profile.txt.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, DAEMONS, runProbes } from '../lib/daemon.js';
import { ROOT } from '../lib/lab.js';
import { fmtNum } from '../lib/stats.js';

export async function profile(ctx) {
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-bench-prof-'));
  DAEMONS.profiled = {
    label: 'mtr-packet-ts --cpu-prof',
    cmd: process.execPath,
    args: ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(ROOT, 'packet', 'dist', 'main.js')],
  };
  const n = ctx.quick ? 10_000 : 50_000;
  const d = await Daemon.start('profiled');
  let r;
  try {
    await d.ready();
    r = await runProbes(d, n, () => 'send-probe ip-4 127.0.0.1 timeout 2', { window: 100 });
    await d.close();
  } catch (e) {
    d.kill();
    throw e;
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const cf = byId.get(id).callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? `${cf.url.replace(/^file:\/\/\/work\/main\//, '')}:${cf.lineNumber + 1}` : ''}`.trim();
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]);
  const lines = top.map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${fmtNum(v / 1000, 1).padStart(8)} ms  ${k}`);
  writeFileSync(
    join(ROOT, 'bench', 'results', 'profile.txt'),
    `CPU profile (self time) of mtr-packet-ts, ICMP ${fmtNum(n)} probes to 127.0.0.1, 100 in flight: ${fmtNum(r.rate)} probes/s, ` +
      `${fmtNum(total / 1000)} ms sampled (main thread)\n\n${lines.join('\n')}\n`,
  );
  for (const [k, v] of top.slice(0, 12)) {
    ctx.table.add({ section: 'profile', figure: `ours, ICMP ${fmtNum(n)} at 100 in flight: self time of ${k}`, ours: (v / total) * 100, ref: 'n/a', digits: 1, unit: '%' });
  }
}
