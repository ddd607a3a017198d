#!/usr/bin/env node
// pnpm bench [-- --quick] [--only throughput,accuracy,footprint,limits,frontend,profile,live,exporter] [--profile]
// Benchmarks mtr-packet-ts against the reference mtr-packet 0.95 in one run, interleaved, and writes the table
// to bench/results/latest.md (a --quick or --only run writes bench/results/quick.md instead). See bench/README.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg } from 'node:os';
import { loadLab } from './lib/lab.js';
import { Table } from './lib/table.js';
import { throughput, CLOSED_PORT } from './sections/throughput.js';
import { accuracy } from './sections/accuracy.js';
import { footprint } from './sections/footprint.js';
import { limits } from './sections/limits.js';
import { frontend } from './sections/frontend.js';
import { profile } from './sections/profile.js';
import { live } from './sections/live.js';
import { exporter } from './sections/exporter.js';
import { DAEMONS, buildWaits } from './lib/daemon.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SECTIONS = { throughput, accuracy, footprint, limits, frontend, profile, live, exporter };
const DEFAULT = ['throughput', 'accuracy', 'footprint', 'limits', 'frontend'];

function parseArgs(argv) {
  const a = { quick: false, only: [...DEFAULT] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--') continue;
    if (x === '--quick') a.quick = true;
    else if (x === '--profile') {
      if (!a.only.includes('profile')) a.only.push('profile');
    }
    else if (x === '--only' || x.startsWith('--only=')) {
      const v = x.includes('=') ? x.slice(7) : argv[++i];
      a.only = (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const bad = a.only.filter((s) => !SECTIONS[s]);
      if (bad.length || !a.only.length) {
        console.error(`--only takes a comma list of: ${Object.keys(SECTIONS).join(', ')}`);
        process.exit(2);
      }
      a.partial = true;
    } else if (x === '--help' || x === '-h') {
      console.log('usage: pnpm bench [-- --quick] [--only throughput,accuracy,footprint,limits,frontend,profile,live,exporter] [--profile]');
      process.exit(0);
    } else {
      console.error(`unknown option ${x} (try --help)`);
      process.exit(2);
    }
  }
  return a;
}

function preflight() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push('needs root (raw sockets, network namespaces)');
  const tck = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim();
  if (tck !== '100') problems.push(`CLK_TCK is ${tck}, the CPU readings assume 100`);
  for (const d of Object.values(DAEMONS)) {
    const r = spawnSync('test', ['-x', d.cmd]);
    if (r.status !== 0) problems.push(`${d.cmd} is not executable`);
  }
  // The closed port of the UDP/TCP figures must really be closed on loopback.
  for (const p of ['tcp', 'udp']) {
    const r = spawnSync('ss', ['-Hln', `--${p}`, `sport = :${CLOSED_PORT}`], { encoding: 'utf8' });
    if (r.stdout?.trim()) problems.push(`${p} port ${CLOSED_PORT} is open on this host`);
  }
  return problems;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const problems = preflight();
  if (problems.length) {
    console.error(`bench: cannot run: ${problems.join('; ')}`);
    process.exit(1);
  }
  const started = Date.now();
  const table = new Table();
  const L = await loadLab();
  let labP;
  const labs = [];
  const ctx = {
    quick: args.quick,
    table,
    L,
    log: (s) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}`),
    /** Alternate who goes first per repetition. */
    order: (rep) => (rep % 2 ? ['ref', 'ours'] : ['ours', 'ref']),
    /** The shared lab (one per benchmark run), created on first use. */
    lab: () =>
      (labP ??= L.createLab({ delaysMs: [0.5, 1, 1, 0.5] }).then((l) => {
        labs.push(l);
        return l;
      })),
  };
  const teardown = async () => {
    for (const l of labs) await l.teardown().catch((e) => console.error(`bench: lab teardown: ${e.message}`));
  };
  // The lab module's own safety net tears labs down on SIGINT/SIGTERM/SIGHUP and exit; daemons we spawned die
  // with their stdin (and are SIGKILLed at exit by Daemon's owner below).
  const failures = [];
  try {
    for (const name of args.only) {
      ctx.log(`== ${name}`);
      try {
        await SECTIONS[name](ctx);
      } catch (e) {
        failures.push(`${name}: ${e.stack ?? e}`);
        table.add({ section: name, figure: '(section failed)', ours: `error: ${e.message}`, ref: 'n/a' });
        ctx.log(`section ${name} failed: ${e.stack ?? e}`);
      }
    }
  } finally {
    await teardown();
  }
  const elapsed = (Date.now() - started) / 1000;
  const ver = (cmd, a) => spawnSync(cmd, a, { encoding: 'utf8' }).stdout?.trim().split('\n')[0] ?? '?';
  const head = [
    `# Benchmark: mtr-packet-ts vs mtr-packet 0.95`,
    '',
    `Run ${new Date(started).toISOString()}${args.quick ? ' (--quick: smaller counts, fewer repetitions)' : ''}; ` +
      `${elapsed.toFixed(0)} s; host ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ` +
      `load average at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}; node ${process.version}; ` +
      `kernel ${ver('uname', ['-r'])}; reference ${ver('dpkg-query', ['-W', '-f=${Package} ${Version}', 'mtr-tiny'])}; ` +
      `commit ${ver('git', ['-C', HERE, 'rev-parse', '--short', 'HEAD'])}.`,
    '',
    ...(buildWaits.length
      ? [`The workspace build of ours was being redone by someone else ${buildWaits.length} time(s) during the run; the benchmark waited ${(buildWaits.reduce((a, b) => a + b, 0) / 1000).toFixed(0)} s in all for it.`, '']
      : []),
    'ours/ref is the ratio of the two figures; "met"/"missed" compares with the target of the issue. ' +
      'How each figure is measured: bench/README.md.',
    '',
  ].join('\n');
  const md = `${head}\n${table.markdown()}\n`;
  console.log(md);
  const out = join(HERE, 'results', args.quick || args.partial ? 'quick.md' : 'latest.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, md);
  renameSync(`${out}.tmp`, out);
  console.error(`bench: table written to ${out}`);
  if (failures.length) console.error(`bench: ${failures.length} section(s) failed:\n${failures.join('\n')}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
