// 3. Footprint: peak RSS and CPU of an idle start, of 10,000 probes, of a 60 s session (30 hops x 1/s in the lab,
// RSS at start/middle/end), and startup time to the first feature-support reply.
import { Daemon, ask, runProbes } from '../lib/daemon.js';
import { median, fmtNum, sleep } from '../lib/stats.js';

const MB = 1024;

async function idle(which) {
  const d = await Daemon.start(which);
  try {
    await d.ready();
    await sleep(200);
    const mem = d.mem();
    const cpu = d.cpu();
    const ex = await d.close();
    return { hwmMb: mem.hwmKb / MB, cpuMs: cpu.total * 1000, exit: ex };
  } catch (e) {
    d.kill();
    return { error: e.message };
  }
}

async function tenK(which, n) {
  const d = await Daemon.start(which);
  try {
    await d.ready();
    const r = await runProbes(d, n, () => 'send-probe ip-4 127.0.0.1 timeout 2', { window: 100 });
    const cpu = d.cpu();
    await d.close();
    if (r.error) return { error: r.error };
    return { hwmMb: r.mem.hwmKb / MB, cpuMs: cpu.total * 1000 };
  } catch (e) {
    d.kill();
    return { error: e.message };
  }
}

async function session(ctx, seconds) {
  const lab = await ctx.lab();
  const ds = { ours: await Daemon.start('ours', { ns: lab.names.client }), ref: await Daemon.start('ref', { ns: lab.names.client }) };
  const out = { ours: { rss: [] }, ref: { rss: [] } };
  const dst = lab.hops4[3];
  const cmds = Array.from({ length: 30 }, (_, i) => `send-probe ip-4 ${dst} ttl ${i + 1} timeout 1`);
  try {
    await Promise.all(Object.values(ds).map((d) => d.ready()));
    const cpu0 = { ours: ds.ours.cpu(), ref: ds.ref.cpu() };
    const t0 = Date.now();
    const answered = { ours: 0, ref: 0 };
    for (let s = 0; s < seconds; s++) {
      // Both daemons live side by side; each gets its 30 probes once per second, half a second apart.
      for (const [i, which] of ctx.order(s).entries()) {
        const due = t0 + s * 1000 + i * 500;
        await sleep(Math.max(0, due - Date.now()));
        const replies = await ask(ds[which], cmds, 450);
        answered[which] += replies.filter(Boolean).length;
        if (s === 0 || s === seconds >> 1 || s === seconds - 1) out[which].rss.push(ds[which].mem().rssKb / MB);
      }
    }
    await sleep(Math.max(0, t0 + seconds * 1000 - Date.now()));
    for (const which of ['ours', 'ref']) {
      const c1 = ds[which].cpu();
      out[which].cpuMs = (c1.total - cpu0[which].total) * 1000;
      out[which].hwmMb = ds[which].mem().hwmKb / MB;
      out[which].answered = answered[which];
    }
  } catch (e) {
    for (const w of ['ours', 'ref']) out[w].error ??= e.message;
  } finally {
    for (const d of Object.values(ds)) await d.close(5000);
  }
  return out;
}

export async function footprint(ctx) {
  const T = ctx.table;
  const sec = '3 footprint';
  const rssTarget = { kind: 'abs-max', value: 50, text: 'ours ≤ 50 MB' };
  const val = (r, k) => (r.error ? `error: ${r.error}` : r[k]);

  // idle start then EOF; 10,000 probes (median of 3 fresh daemons each, interleaved)
  const reps = ctx.quick ? 1 : 3;
  const n = 10_000;
  const idleR = { ours: [], ref: [] };
  const tenR = { ours: [], ref: [] };
  for (let rep = 0; rep < reps; rep++)
    for (const which of ctx.order(rep)) {
      idleR[which].push(await idle(which));
      tenR[which].push(await tenK(which, n));
    }
  const med = (runs, k) => {
    const ok = runs.filter((r) => !r.error);
    return ok.length ? median(ok.map((r) => r[k])) : `error: ${runs[0].error}`;
  };
  T.add({ section: sec, figure: 'idle start, check-support, EOF: peak RSS (VmHWM)', ours: med(idleR.ours, 'hwmMb'), ref: med(idleR.ref, 'hwmMb'), digits: 1, unit: 'MB', target: rssTarget });
  T.add({ section: sec, figure: 'idle start, check-support, EOF: CPU (user+sys since exec)', ours: med(idleR.ours, 'cpuMs'), ref: med(idleR.ref, 'cpuMs'), unit: 'ms', note: '/proc/<pid>/stat ticks are 10 ms' });
  T.add({ section: sec, figure: `${fmtNum(n)} ICMP probes to 127.0.0.1 (100 in flight): peak RSS`, ours: med(tenR.ours, 'hwmMb'), ref: med(tenR.ref, 'hwmMb'), digits: 1, unit: 'MB', target: rssTarget });
  T.add({ section: sec, figure: `${fmtNum(n)} ICMP probes to 127.0.0.1 (100 in flight): CPU since exec`, ours: med(tenR.ours, 'cpuMs'), ref: med(tenR.ref, 'cpuMs'), unit: 'ms', target: { kind: 'ratio-max', value: 1, text: '≤ 1x' } });

  // session
  const seconds = ctx.quick ? 10 : 60;
  ctx.log(`session ${seconds} s`);
  const s = await session(ctx, seconds);
  const rssText = (r) => (r.error ? `error: ${r.error}` : r.rss.map((x) => fmtNum(x, 1)).join(' / ') + ' MB');
  const growth = (r) => (r.error ? `error: ${r.error}` : r.rss.at(-1) - r.rss[1]);
  T.add({ section: sec, figure: `${seconds} s session, 30 hops × 1 probe/s (lab): VmRSS start / middle / end`, ours: rssText(s.ours), ref: rssText(s.ref), note: `probes answered ours ${s.ours.answered ?? '—'}, ref ${s.ref.answered ?? '—'} of ${30 * seconds} each` });
  T.add({ section: sec, figure: `${seconds} s session: RSS growth over the second half (end − middle)`, ours: growth(s.ours), ref: growth(s.ref), digits: 2, unit: 'MB', noRatio: true, note: s.ours.error ? '' : `end − start: ours ${fmtNum(s.ours.rss.at(-1) - s.ours.rss[0], 2)} MB, ref ${fmtNum(s.ref.rss.at(-1) - s.ref.rss[0], 2)} MB (the first seconds include warm-up: JIT, heap sizing)`, target: { kind: 'abs-max', value: 1, text: 'ours ≤ 1 MB (no growth)' } });
  T.add({ section: sec, figure: `${seconds} s session: peak RSS`, ours: val(s.ours, 'hwmMb'), ref: val(s.ref, 'hwmMb'), digits: 1, unit: 'MB', target: rssTarget });
  T.add({ section: sec, figure: `${seconds} s session: CPU during the session`, ours: val(s.ours, 'cpuMs'), ref: val(s.ref, 'cpuMs'), unit: 'ms', target: { kind: 'ratio-max', value: 1, text: '≤ 1x' } });

  // startup
  const k = ctx.quick ? 6 : 20;
  const st = { ours: [], ref: [] };
  for (let i = 0; i < k; i++)
    for (const which of ctx.order(i)) {
      const d = await Daemon.start(which);
      try {
        st[which].push(await d.ready());
        await d.close();
      } catch (e) {
        d.kill();
        st[which].err = e.message;
      }
    }
  const stv = (w) => (st[w].length ? median(st[w]) : `error: ${st[w].err}`);
  T.add({ section: sec, figure: `startup: spawn to first feature-support reply, median of ${k}`, ours: stv('ours'), ref: stv('ref'), digits: 1, unit: 'ms', target: { kind: 'abs-max', value: 80, text: 'ours ≤ 80 ms' }, note: `min ours ${fmtNum(Math.min(...st.ours), 1)} ms, ref ${fmtNum(Math.min(...st.ref), 1)} ms` });
}
