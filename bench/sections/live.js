// 6. Live view: CPU and bytes written to the terminal per minute of `mtr-ts -n -i 0.1 <lab dest>` beside
// `mtr -n -i 0.1 <lab dest>` (mtr 0.95's curses screen), each in its own tmux window of 100x30, in the lab
// client namespace, statistics display (mode 0). Not part of the default run (it takes 2 x the duration);
// `pnpm bench -- --only live [--quick]`.
//
// - CPU: user+sys of every process of the pane's tree (front-end + packet child), from /proc/PID/stat, between
//   the end of a warm-up (first hops drawn) and the end of the measured window.
// - Bytes: everything the program wrote to the pane (tmux pipe-pane -o), in the measured window.
// - Then, for ours and mtr (not the -r run), a second window of the same length right after the first: the
//   steady state, once V8 has optimized what runs per probe (an information row; the target row is the
//   first window's).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lib/lab.js';
import { median, fmtNum } from '../lib/stats.js';
import { waitForBuild } from '../lib/daemon.js';

const MTR_TS = join(ROOT, 'frontend', 'bin', 'mtr-ts.js');
const TICKS = 100; // CLK_TCK, checked by run.js's preflight

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function descendants(root) {
  const kids = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(name));
    } catch {
      // gone
    }
  }
  const out = [];
  const todo = [root];
  while (todo.length) {
    const p = todo.pop();
    out.push(p);
    for (const c of kids.get(p) ?? []) todo.push(c);
  }
  return out;
}

/** user+sys seconds of a process tree (processes alive now) */
function treeCpu(root) {
  let ticks = 0;
  for (const pid of descendants(root)) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return ticks / TICKS;
}

async function measure(ns, argv, seconds, log, warm = true, quiet = false, second = false) {
  const socket = `mtrts-bench-live-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-live-'));
  const pipeFile = join(dir, 'pane.out');
  const tmux = (...a) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  try {
    // quiet: stderr to /dev/null (the -r probe run's per-cycle progress line would be written to the pane
    // and counted as probing cost)
    const line = `exec ip netns exec ${ns} ${argv.map((a) => `'${a}'`).join(' ')}${quiet ? ' 2>/dev/null' : ''}`;
    tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'b', '-x', '100', '-y', '30', 'sh', '-c', line);
    const pane = Number(tmux('display-message', '-p', '-t', 'b', '#{pane_pid}').trim());
    // warm-up: until the destination's row shows (or 10 s)
    const t0 = Date.now();
    while (warm && Date.now() - t0 < 10_000 && !/\b4\. /.test(tmux('capture-pane', '-p', '-t', 'b'))) await sleep(100);
    if (!warm) await sleep(2000);
    await sleep(1000);
    tmux('pipe-pane', '-o', '-t', 'b', `cat > '${pipeFile}'`);
    const cpu0 = treeCpu(pane);
    const w0 = Date.now();
    await sleep(seconds * 1000);
    const cpu1 = treeCpu(pane);
    const wall = (Date.now() - w0) / 1000;
    tmux('pipe-pane', '-t', 'b');
    await sleep(200);
    const bytes = existsSync(pipeFile) ? statSync(pipeFile).size : 0;
    let cpu2PerMin;
    if (second) {
      const c0 = treeCpu(pane);
      const t0 = Date.now();
      await sleep(seconds * 1000);
      cpu2PerMin = ((treeCpu(pane) - c0) / ((Date.now() - t0) / 1000)) * 60;
    }
    const screen = tmux('capture-pane', '-p', '-t', 'b');
    const hops = screen.split('\n').filter((l) => /^\s*\d+\. /.test(l)).length;
    tmux('send-keys', '-t', 'b', warm ? 'q' : 'C-c');
    await sleep(500);
    return { cpuPerMin: ((cpu1 - cpu0) / wall) * 60, cpu2PerMin, bytesPerMin: (bytes / wall) * 60, hops, wall };
  } catch (e) {
    log(`live: ${e.message}`);
    return { error: e.message };
  } finally {
    try {
      tmux('kill-server');
    } catch {
      // gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function live(ctx) {
  const lab = await ctx.lab();
  const dst = lab.hops4[3];
  const seconds = ctx.quick ? 15 : 60;
  const reps = ctx.quick ? 1 : 2;
  // 'probe': ours probing the same way without the view (-r, never finishing in the window), to tell the
  // view's own cost from the engine's and the packet process's
  const res = { ours: [], ref: [], probe: [] };
  for (let rep = 0; rep < reps; rep++)
    for (const which of [...ctx.order(rep), 'probe']) {
      if (which !== 'ref') await waitForBuild();
      const argv =
        which === 'ours'
          ? [process.execPath, MTR_TS, '-n', '-i', '0.1', dst]
          : which === 'probe'
            ? [process.execPath, MTR_TS, '-n', '-r', '-c', '100000', '-i', '0.1', dst]
            : ['mtr', '-n', '-i', '0.1', dst];
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
      const r = await measure(lab.names.client, argv, seconds, ctx.log, which !== 'probe', which === 'probe', which !== 'probe');
      res[which].push(r);
      const then = r.cpu2PerMin === undefined ? '' : `, then ${r.cpu2PerMin.toFixed(2)} s/min`;
      ctx.log(`live ${which}: ${r.error ?? `cpu ${r.cpuPerMin.toFixed(2)} s/min${then}, ${(r.bytesPerMin / 1024).toFixed(1)} KB/min, ${r.hops} hop rows (load ${load})`}`);
    }
  const fig = (w, f) => {
    const ok = res[w].filter((r) => !r.error);
    return ok.length ? median(ok.map(f)) : `error: ${res[w][0]?.error}`;
  };
  const probe = fig('probe', (r) => r.cpuPerMin);
  const note =
    `${seconds} s windows after a warm-up, median of ${reps}, 100x30 tmux, statistics display; ` +
    `ours probing the same without the view (-r): ${typeof probe === 'number' ? `${fmtNum(probe, 2)} s` : probe}`;
  ctx.table.add({
    section: '6 live view',
    figure: `\`-n -i 0.1 ${dst}\` full screen: CPU user+sys per minute, front-end + packet child`,
    ours: fig('ours', (r) => r.cpuPerMin),
    ref: fig('ref', (r) => r.cpuPerMin),
    digits: 2,
    unit: 's',
    target: { kind: 'ratio-max', value: 3, text: '≤ 3x' },
    note,
  });
  ctx.table.add({
    section: '6 live view',
    figure: 'same, the next window (steady state): CPU user+sys per minute',
    ours: fig('ours', (r) => r.cpu2PerMin),
    ref: fig('ref', (r) => r.cpu2PerMin),
    digits: 2,
    unit: 's',
    note: `a second ${seconds} s window right after the first, median of ${reps}`,
  });
  ctx.table.add({
    section: '6 live view',
    figure: 'same: bytes written to the terminal per minute',
    ours: fig('ours', (r) => r.bytesPerMin / 1024),
    ref: fig('ref', (r) => r.bytesPerMin / 1024),
    digits: 1,
    unit: 'KB',
    target: { kind: 'abs-max', value: 300, text: `ours ≤ 300 KB (5 KB/s)` },
    note: `ours ${fmtNum(typeof fig('ours', (r) => r.bytesPerMin) === 'number' ? fig('ours', (r) => r.bytesPerMin) / 60 / 1024 : NaN, 2)} KB/s`,
  });
}
