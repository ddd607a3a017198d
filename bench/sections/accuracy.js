// 2. Timestamp accuracy: reported RTT minus the RTT on the wire, per hop, on the lab path (tcpdump with
// nanosecond kernel timestamps on the client's interface); loopback RTT of lone probes and during a flood.
import { readFileSync, rmSync } from 'node:fs';
import { Daemon, ask, runProbes } from '../lib/daemon.js';
import { median, percentile, fmtNum, sleep } from '../lib/stats.js';
import { kindsText } from './throughput.js';

function startCapture(lab, file) {
  const td = lab.spawnIn('client', 'tcpdump', [
    '-i', 'l1', '-w', file, '--time-stamp-precision=nano', '--immediate-mode', '-U', '-n', '-s', '256', 'icmp',
  ]);
  const exited = new Promise((r) => td.on('close', r));
  const ready = new Promise((resolve, reject) => {
    let err = '';
    td.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
      if (err.includes('listening on')) resolve();
    });
    td.on('close', (c) => reject(new Error(`tcpdump exited ${c}: ${err.trim()}`)));
    setTimeout(() => reject(new Error(`tcpdump not listening after 5 s: ${err.trim()}`)), 5000);
  });
  return { td, ready, exited };
}

export async function labAccuracy(ctx) {
  const lab = await ctx.lab();
  const { L } = ctx;
  const cycles = ctx.quick ? 60 : 400;
  const file = `/tmp/mtrts-bench-${process.pid}-acc.pcap`;
  const cap = startCapture(lab, file);
  await cap.ready;
  const ds = { ours: await Daemon.start('ours', { ns: lab.names.client }), ref: await Daemon.start('ref', { ns: lab.names.client }) };
  // BENCH_ACC_TTLS=4,3,2,1 changes the order of the TTLs within each burst (default 1,2,3,4, as mtr sends).
  const ttls = (process.env.BENCH_ACC_TTLS ?? '1,2,3,4').split(',').map(Number);
  const sent = { ours: [], ref: [] }; // per probe in write order: { ttl, reply }
  try {
    await Promise.all(Object.values(ds).map((d) => d.ready()));
    const dst = lab.hops4[3];
    const cmds = ttls.map((ttl) => `send-probe ip-4 ${dst} ttl ${ttl} timeout 2`);
    for (let c = 0; c < cycles; c++) {
      for (const which of ctx.order(c)) {
        const replies = await ask(ds[which], cmds, 3000);
        replies.forEach((reply, i) => sent[which].push({ ttl: ttls[i], pos: i, reply }));
        await sleep(2);
      }
    }
  } finally {
    for (const d of Object.values(ds)) await d.close(5000);
    await sleep(300);
    cap.td.kill('SIGTERM');
    await cap.exited;
  }
  const stats = await Promise.all([1, 2, 3, 4].map((k) => lab.linkStats(k)));
  const lateMaxUs = Math.max(...stats.flatMap((s) => [s.forward.lateMaxUs, s.back.lateMaxUs]));
  const packets = L.parseIcmpPcap(readFileSync(file));
  rmSync(file, { force: true });
  const pairs = L.pairRoundTrips(packets);
  const rttByKey = new Map(pairs.map((p) => [`${p.request.id}/${p.request.seq}`, p.rttMs]));
  const refId = ds.ref.pid & 0xffff; // mtr-packet 0.95 uses its pid as ICMP identifier
  const requests = packets.filter((p) => p.kind === 'echo-request' && p.family === 4);
  const byDaemon = {
    ref: requests.filter((p) => p.id === refId),
    ours: requests.filter((p) => p.id !== refId),
  };
  const result = {};
  for (const which of ['ours', 'ref']) {
    const reqs = byDaemon[which];
    const probes = sent[which];
    if (reqs.length !== probes.length) {
      result[which] = { error: `capture has ${reqs.length} requests for ${probes.length} probes` };
      continue;
    }
    const diffs = { 1: [], 2: [], 3: [], 4: [] };
    const byPos = [[], [], [], []];
    let unmatched = 0;
    reqs.forEach((req, i) => {
      const p = probes[i];
      const wire = rttByKey.get(`${req.id}/${req.seq}`);
      if (!p.reply || p.reply.rttUs === undefined || wire === undefined) {
        unmatched++;
        return;
      }
      diffs[p.ttl].push(p.reply.rttUs - wire * 1000);
      byPos[p.pos].push(p.reply.rttUs - wire * 1000);
    });
    result[which] = { diffs, byPos, unmatched };
  }
  const cell = (r, hop, fn) => (r.error ? `error: ${r.error}` : fn(r.diffs[hop]));
  for (const hop of [1, 2, 3, 4]) {
    for (const [name, fn, tgt] of [
      ['median', median, { kind: 'abs-abs-max', value: 10, text: '|ours| ≤ 10 µs' }],
      ['p95', (xs) => percentile(xs, 95), { kind: 'abs-abs-max', value: 25, text: '|ours| ≤ 25 µs' }],
    ]) {
      ctx.table.add({
        section: '2 accuracy',
        figure: `lab hop ${hop} (${lab.hops4[hop - 1]}, nominal ${lab.expectedRttMs()[hop - 1]} ms): reported − wire RTT, ${name}`,
        ours: cell(result.ours, hop, fn),
        ref: cell(result.ref, hop, fn),
        digits: 1,
        unit: 'µs',
        target: tgt,
        note:
          hop === 1 && name === 'median'
            ? `ICMP, ${cycles} cycles of a burst of TTL ${ttls.join(',')} (written at once, answers awaited); samples ours ${result.ours.diffs?.[1]?.length ?? 0}/hop, ref ${result.ref.diffs?.[1]?.length ?? 0}/hop; unmatched ours ${result.ours.unmatched ?? '—'}, ref ${result.ref.unmatched ?? '—'}; forwarder lateness max ${fmtNum(lateMaxUs)} µs (cancels out: wire RTT is measured on the client's link)`
            : '',
      });
    }
  }
  const posText = (r) => (r.error ? `error: ${r.error}` : r.byPos.map((xs) => fmtNum(median(xs), 1)).join(' / ') + ' µs');
  ctx.table.add({
    section: '2 accuracy',
    figure: 'same, median by position in the 4-probe burst (1st / 2nd / 3rd / 4th written)',
    ours: posText(result.ours),
    ref: posText(result.ref),
    note: 'all hops pooled: shows whether an error belongs to a hop or to the first send after a pause',
  });
}

export async function loopbackRtt(ctx) {
  const n = ctx.quick ? 50 : 300;
  const ds = { ours: await Daemon.start('ours'), ref: await Daemon.start('ref') };
  const rtts = { ours: [], ref: [] };
  try {
    await Promise.all(Object.values(ds).map((d) => d.ready()));
    for (let i = 0; i < n; i++) {
      for (const which of ctx.order(i)) {
        const [r] = await ask(ds[which], ['send-probe ip-4 127.0.0.1 timeout 2'], 3000);
        if (r?.rttUs !== undefined) rtts[which].push(r.rttUs);
        await sleep(5);
      }
    }
  } finally {
    for (const d of Object.values(ds)) await d.close(5000);
  }
  ctx.table.add({
    section: '2 accuracy',
    figure: `loopback RTT of a lone probe (ICMP 127.0.0.1), median of ${n}`,
    ours: median(rtts.ours),
    ref: median(rtts.ref),
    unit: 'µs',
    note: `p95 ours ${fmtNum(percentile(rtts.ours, 95))} µs, ref ${fmtNum(percentile(rtts.ref, 95))} µs`,
  });
}

export async function floodRtt(ctx) {
  const n = 20_000;
  const reps = ctx.quick ? 1 : 3;
  const res = { ours: [], ref: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const which of ctx.order(rep)) {
      const d = await Daemon.start(which);
      try {
        await d.ready();
        const r = await runProbes(d, n, () => 'send-probe ip-4 127.0.0.1 timeout 2', { timeoutMs: 120_000 });
        await d.close();
        res[which].push(r);
        ctx.log(`flood ${which}: median RTT ${median(r.rtts)} µs ${kindsText(r.kinds)}${r.error ? ` ${r.error}` : ''}`);
      } catch (e) {
        d.kill();
        res[which].push({ error: e.message });
      }
    }
  }
  const fig = (runs) => {
    const ok = runs.filter((r) => !r.error);
    return ok.length ? median(ok.map((r) => median(r.rtts))) : `error: ${runs[0]?.error}`;
  };
  const last = (w) => {
    const r = res[w].at(-1);
    return `${kindsText(r?.kinds)}${r?.drops ? ` (kernel socket drops ${fmtNum(r.drops)}: the raw socket also sees its own echo requests on lo)` : ''}`;
  };
  const answered = (runs) => {
    const ok = runs.filter((r) => !r.error);
    return ok.length ? median(ok.map((r) => r.kinds.reply ?? 0)) : `error: ${runs[0]?.error}`;
  };
  ctx.table.add({
    section: '2 accuracy',
    figure: `loopback RTT reported during a flood (${fmtNum(n)} ICMP probes written at once), median`,
    ours: fig(res.ours),
    ref: fig(res.ref),
    unit: 'µs',
    target: { kind: 'ratio-max', value: 0.1, text: '≤ 0.1x' },
    note: `median over the RTTs reported in each run, median of ${reps} runs`,
  });
  ctx.table.add({
    section: '2 accuracy',
    figure: `same flood: probes answered \`reply\` (of ${fmtNum(n)})`,
    ours: answered(res.ours),
    ref: answered(res.ref),
    target: { kind: 'abs-min', value: n, text: `all ${fmtNum(n)} (sanity: the RTT above is over these only)` },
    note: `last run, ours: ${last('ours')}; ref: ${last('ref')}`,
  });
}

export async function accuracy(ctx) {
  await labAccuracy(ctx);
  await loopbackRtt(ctx);
  await floodRtt(ctx);
}
