// 4. Limits: probes written at once to a lab address that never answers (dest drops all input), per protocol:
// how many are accepted in flight, probes-exhausted for the excess, no crash, no lost token.
import { spawnSync } from 'node:child_process';
import { Daemon, runProbes } from '../lib/daemon.js';
import { fmtNum } from '../lib/stats.js';
import { kindsText } from './throughput.js';

export async function limits(ctx) {
  const lab = await ctx.lab();
  const n = 17_000; // beyond the reference's 1,024 and ours' default 16,384
  const timeout = ctx.quick ? 3 : 5;
  const dst = lab.hops4[3];
  const cmd = {
    icmp: `send-probe ip-4 ${dst} timeout ${timeout}`,
    udp: `send-probe ip-4 ${dst} protocol udp port 33434 timeout ${timeout}`,
    tcp: `send-probe ip-4 ${dst} protocol tcp port 80 timeout ${timeout}`,
  };
  const nofile = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
  await lab.nft('dest', 'table inet bench_silent {\n  chain input {\n    type filter hook input priority -100; policy drop;\n  }\n}\n');
  const res = {};
  try {
    let rep = 0;
    for (const proto of ['icmp', 'udp', 'tcp']) {
      for (const which of ctx.order(rep++)) {
        const d = await Daemon.start(which, { ns: lab.names.client });
        let r;
        try {
          await d.ready();
          r = await runProbes(d, n, () => cmd[proto], { timeoutMs: (timeout + 60) * 1000 });
          const ex = await d.close(20_000);
          r.exit = ex;
          // Replies to tokens that arrived after runProbes gave up are not counted: lost means never answered.
        } catch (e) {
          d.kill();
          r = { error: e.message, kinds: {}, lost: n, exit: await d.exit, notReady: true };
        }
        r.crashed = !!(r.exit?.signal || r.exit?.code);
        (res[proto] ??= {})[which] = r;
        ctx.log(`limits ${proto} ${which}: ${kindsText(r.kinds)}; lost ${r.lost}; exit ${JSON.stringify(r.exit)}${r.error ? `; ${r.error}` : ''}`);
      }
    }
  } finally {
    await lab.nft('dest', 'delete table inet bench_silent').catch(() => {});
  }
  for (const proto of ['icmp', 'udp', 'tcp']) {
    const o = res[proto].ours;
    const f = res[proto].ref;
    const unsupported = (r) => Object.keys(r.kinds ?? {}).some((k) => k.includes('protocol-not-supported'));
    const exitText = (r) => (r.exit?.signal ? `killed by ${r.exit.signal}` : `exit ${r.exit?.code}`);
    const failed = (r) => !!r.notReady; // never answered check-support: not a limit result
    const accepted = (r) => (unsupported(r) ? 'unsupported' : failed(r) ? `error: ${r.error}` : r.crashed ? `${fmtNum(r.kinds?.['no-reply'] ?? 0)} (then ${exitText(r)})` : r.kinds?.['no-reply'] ?? 0);
    const P = proto.toUpperCase();
    ctx.table.add({
      section: '4 limits',
      figure: `${P}: probes accepted in flight (of ${fmtNum(n)} written at once to a silent lab address, timeout ${timeout} s)`,
      ours: accepted(o),
      ref: accepted(f),
      target: { kind: 'abs-min', value: 10_000, text: 'ours ≥ 10,000' },
      note: `ours: ${kindsText(o.kinds)}; ref: ${kindsText(f.kinds)}${proto === 'icmp' ? `; RLIMIT_NOFILE ${nofile}` : ''}`,
    });
    const fate = (r) => `${exitText(r)}, ${fmtNum(r.lost)} tokens unanswered`;
    ctx.table.add({
      section: '4 limits',
      figure: `${P}: no crash, no lost token`,
      ours: unsupported(o) ? 'unsupported' : failed(o) ? `error: ${o.error}` : fate(o),
      ref: fate(f),
      target: { kind: 'bool', text: 'ours: no crash, 0 lost' },
      ok: unsupported(o) || failed(o) ? undefined : !o.crashed && o.lost === 0,
      note: [o.error && `ours: ${o.error}`, f.error && `ref: ${f.error}`].filter(Boolean).join('; '),
    });
  }
}
