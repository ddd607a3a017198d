// The live view as a person uses it: the real mtr-ts in a tmux window (a pseudo-terminal) on the netns
// lab, keys typed, the screen read back; beside the real mtr 0.95 on the same path.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeLab, useLab } from './lab/use-lab.js';
import { ourFrontend, referenceMtr, requirements, skipUnless } from './support/env.js';
import { haveTmux, Tmux } from './live-view-tmux.js';

const skip = requirements('live view in tmux', [
  [haveTmux, 'needs tmux'],
  [referenceMtr !== undefined, "needs mtr 0.95 (Debian's mtr-tiny)"],
]);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** processes under pid (inclusive), with their command lines */
function tree(pid: number): Array<{ pid: number; cmd: string }> {
  const kids = new Map<number, number[]>();
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const s = readFileSync(`/proc/${n}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(n)]);
    } catch {
      // gone
    }
  }
  const out: Array<{ pid: number; cmd: string }> = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop() as number;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      // gone
    }
    out.push({ pid: p, cmd });
    todo.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** the Snt column of hop `n` on a statistics screen */
function snt(screen: string[], n: number): number {
  const row = screen.find((l) => l.startsWith(`${String(n).padStart(2, ' ')}. `));
  const m = row?.match(/%\s+(\d+)\s/);
  if (m === undefined || m === null) throw new Error(`no Snt for hop ${n} in:\n${screen.join('\n')}`);
  return Number(m[1]);
}
/** the last line with text */
const lastLine = (s: string[]): string => s.filter((l) => l !== '').at(-1) ?? '';
const hopRows = (s: string[]): string[] => s.filter((l) => /^[ \d]\d\. /.test(l));
const hasHops = (n: number) => (s: string[]): boolean => hopRows(s).length >= n && s.some((l) => /^ 4\. 10\.0\.4\.2 /.test(l));

(skip !== undefined ? describe.skip : describeLab)('live view, the real mtr-ts in tmux on the lab', () => {
  const lab = useLab({ delaysMs: [0.5, 1, 2, 1], lossPct: [0, 0, 0, 0], silentRouter: 2 });
  let tmux: Tmux | undefined;
  afterEach(() => {
    tmux?.kill();
    tmux = undefined;
  });
  const start = (args: string, cols = 100, rows = 30, env: Record<string, string> = {}): Tmux => {
    const t = new Tmux();
    tmux = t;
    t.start(`ip netns exec ${lab().names.client} ${process.execPath} ${ourFrontend} ${args}`, cols, rows, { TERM: 'xterm-256color', TZ: 'UTC', ...env });
    return t;
  };

  it('shows the same hops as mtr 0.95 side by side, ??? hop waiting, in the alternate screen', async () => {
    const dst = lab().hops4[3];
    const ours = start(`-n -i 0.2 ${dst}`);
    const ref = new Tmux();
    try {
      ref.start(`ip netns exec ${lab().names.client} mtr -n -i 0.2 ${dst}`, 100, 30, { TERM: 'xterm-256color', TZ: 'UTC' });
      const o = await ours.waitFor(hasHops(4), 15000, 'mtr-ts hops');
      const m = await ref.waitFor(hasHops(4), 15000, 'mtr hops');
      const names = (s: string[]): string[] => hopRows(s).map((l) => l.slice(0, 30).trimEnd());
      expect(names(o)).toEqual(names(m));
      expect(names(o)).toEqual([' 1. 10.0.1.2', ' 2. (waiting for reply)', ' 3. 10.0.3.2', ' 4. 10.0.4.2']);
      // the same header rows (ours names one more key, v, at the end of the Keys line)
      expect(o[2]).toBe(`${m[2]}   Verdicts`);
      expect(o[4]).toBe(m[4]);
      expect(ours.alternateOn()).toBe(true);
    } finally {
      ref.kill();
    }
  }, 40000);

  it('keys: d modes, ? help, j jitter, o fields, u/t protocol, i prompt with Esc, r reset, p pause stops Snt', async () => {
    const t = start(`-n -i 0.2 ${lab().hops4[3]}`);
    await t.waitFor(hasHops(4), 15000, 'hops');
    t.keys('d');
    await t.waitFor((s) => /Last +\d+ pings/.test(s[4] ?? ''), 3000, 'stripchart (mode 1)');
    t.keys('d');
    await t.waitFor((s) => s.some((l) => l.startsWith('Scale:  .:')) && !s.some((l) => l.includes('Pings')), 3000, 'mode 2');
    t.keys('d');
    await t.waitFor((s) => (s[4] ?? '').includes('Last ') && (s[4] ?? '').includes('Loss%'), 3000, 'mode 3: statistics with sparklines');
    t.keys('d');
    await t.waitFor((s) => / Host +Loss%/.test(s[4] ?? ''), 3000, 'back to statistics');
    t.keys('?');
    await t.waitFor((s) => s.some((l) => l.includes('press any key to go back')), 3000, 'help');
    t.keys('x');
    await t.waitFor((s) => / Host +Loss%/.test(s[4] ?? ''), 3000, 'help closed');
    t.keys('j');
    await t.waitFor((s) => /Drop +Rcv +Avg +Gmean +Jttr +Javg +Jmax +Jint$/.test(s[4] ?? ''), 3000, 'jitter columns');
    t.keys('o');
    t.type('LSEP');
    t.keys('Enter');
    await t.waitFor((s) => /Loss% +Snt +Med +P95$/.test(s[4] ?? ''), 3000, 'fields LSEP');
    t.keys('u');
    await t.waitFor((s) => (s[0] ?? '').includes(' UDP'), 3000, 'UDP in the title');
    t.keys('t');
    await t.waitFor((s) => (s[0] ?? '').includes(' TCP'), 3000, 'TCP in the title');
    t.keys('t');
    await t.waitFor((s) => (s[0] ?? '').includes(' ICMP'), 3000, 'ICMP in the title');
    t.keys('i');
    t.type('5');
    await t.waitFor((s) => s[2] === 'Interval : 5_', 3000, 'interval prompt');
    t.keys('Escape');
    await t.waitFor((s) => (s[2] ?? '').startsWith('Keys:'), 3000, 'prompt cancelled');
    await t.waitFor((s) => snt(s, 1) >= 10, 10000, 'Snt 10');
    t.keys('r');
    await t.waitFor((s) => snt(s, 1) < 5, 3000, 'reset');
    t.keys('p');
    const paused = await t.waitFor((s) => (s[0] ?? '').includes('[paused]'), 3000, 'paused');
    const n = snt(paused, 1);
    await sleep(1500);
    expect(snt(t.screen(), 1)).toBe(n);
    t.keys('Space');
    await t.waitFor((s) => !(s[0] ?? '').includes('[paused]') && snt(s, 1) > n, 5000, 'resumed');
  }, 60000);

  it('keys: f and m prompts change the probed TTLs; + - arrows PgDn scroll a short window, with markers', async () => {
    // 100x10: five header rows, the diagnosis line and its blank line leave three rows for four hops
    const t = start(`-n -i 0.2 ${lab().hops4[3]}`, 100, 10);
    const first = await t.waitFor((s) => /^ \[v 2 more hops below: \+ or PgDn\]$/.test(s[7] ?? ''), 15000, 'the more-below marker');
    expect(hopRows(first).map((l) => l.slice(0, 4))).toEqual([' 1. ', ' 2. ']);
    t.keys('Down');
    await t.waitFor((s) => (s[4] ?? '').startsWith(' Host [^ 1 above]') && (s[5] ?? '').startsWith(' 2. '), 3000, 'one hop down');
    // + (5 hops) is clamped at the end at once: - right after it comes back to the top
    t.keys('+', '-');
    await t.waitFor((s) => /^ 1\. 10\.0\.1\.2 /.test(s[5] ?? ''), 3000, '+ then - at once: back to the top');
    t.keys('+');
    const end = await t.waitFor((s) => (s[4] ?? '').startsWith(' Host [^ 1 above]') && (s[7] ?? '').startsWith(' 4. 10.0.4.2 '), 3000, 'clamped at the end');
    expect(end.some((l) => l.includes('more hop'))).toBe(false);
    t.keys('-');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. '), 3000, 'back to the top');
    t.keys('Down');
    await t.waitFor((s) => (s[4] ?? '').startsWith(' Host [^ 1 above]') && (s[5] ?? '').startsWith(' 2. '), 3000, 'one hop down');
    t.keys('Home');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. '), 3000, 'Home');
    t.keys('PgDn');
    await t.waitFor((s) => (s[4] ?? '').includes('above]'), 3000, 'a page down');
    t.keys('Up', 'Up', 'Up');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. '), 3000, 'up to the top');
    t.resize(100, 30);
    t.keys('f');
    t.type('2');
    t.keys('Enter');
    await t.waitFor((s) => hopRows(s)[0]?.startsWith(' 2. ') === true, 5000, 'first TTL 2: hop 1 gone');
    t.keys('m');
    t.type('3');
    t.keys('Enter');
    const m = await t.waitFor((s) => hopRows(s).length === 2 && hopRows(s)[1]?.startsWith(' 3. 10.0.3.2 ') === true, 5000, 'max TTL 3');
    expect(m.some((l) => l.startsWith(' 4. '))).toBe(false);
    t.keys('m');
    t.type('1');
    t.keys('Enter');
    await t.waitFor((s) => (s[3] ?? '').startsWith('max TTL: 2 to 255'), 3000, 'an out-of-range value refused with the reason');
  }, 60000);

  it('n turns names on (started with -n) and off again', async () => {
    const t = start('-n -i 0.2 127.0.0.1');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. 127.0.0.1 '), 10000, 'the address');
    t.keys('n');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. localhost '), 5000, 'the name');
    t.keys('n');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. 127.0.0.1 '), 5000, 'the address again');
    // the report left on quit follows the screen's last choices (names on, jitter columns)
    t.keys('n');
    t.keys('j');
    await t.waitFor((s) => (s[5] ?? '').startsWith(' 1. localhost ') && (s[4] ?? '').includes('Jttr'), 5000, 'names and jitter');
    t.keys('q');
    await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
    const h = t.history().join('\n');
    expect(h).toMatch(/HOST: .*Drop +Rcv +Avg +Gmean +Jttr/);
    expect(h).toMatch(/ 1\.\|-- localhost /);
  }, 30000);

  it('resize applies at once; q restores the terminal, leaves the report, exits 0', async () => {
    const t = start(`-n -i 0.2 ${lab().hops4[3]}`);
    await t.waitFor(hasHops(4), 15000, 'hops');
    t.resize(80, 24);
    await t.waitFor((s) => (s[1] ?? '').indexOf('2026-') === 55 || /\d{4}-\d\d-\d\dT/.test((s[1] ?? '').slice(55)), 3000, 'relayout at 80 columns');
    t.keys('q');
    const s = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
    expect(s.find((l) => l.startsWith('[exit '))).toBe('[exit 0]');
    expect(t.alternateOn()).toBe(false);
    const h = t.history().join('\n');
    expect(h).toMatch(/HOST: .* Loss%/);
    expect(h).toMatch(/ {2}4\.\|-- 10\.0\.4\.2 /);
    expect(h).toMatch(/ {2}2\.\|-- \?\?\? /);
    expect(h).not.toContain('Keys:');
  }, 40000);

  it('Ctrl-C quits likewise (exit 0, terminal restored, report left)', async () => {
    const t = start(`-n -i 0.2 ${lab().hops4[3]}`);
    await t.waitFor(hasHops(4), 15000, 'hops');
    t.keys('C-c');
    const s = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
    expect(s.find((l) => l.startsWith('[exit '))).toBe('[exit 0]');
    expect(t.alternateOn()).toBe(false);
    expect(t.history().join('\n')).toMatch(/HOST: /);
  }, 40000);

  it('Ctrl-Z suspends (the shell gets the terminal back), fg restores the screen, q then leaves a clean report', async () => {
    const t = new Tmux();
    tmux = t;
    t.startShell(100, 30, { TERM: 'xterm-256color', TZ: 'UTC', PS1: 'prompt$ ' });
    await t.waitFor((s) => s.some((l) => l.startsWith('prompt$')), 5000, 'the shell');
    t.type(`ip netns exec ${lab().names.client} ${process.execPath} ${ourFrontend} -n -i 0.2 ${lab().hops4[3]}`);
    t.keys('Enter');
    await t.waitFor(hasHops(4), 15000, 'hops');
    t.keys('C-z');
    const stopped = await t.waitFor((s) => s.some((l) => /Stopped/.test(l)), 5000, 'the job stopped');
    expect(t.alternateOn()).toBe(false);
    expect(lastLine(stopped)).toBe('prompt$');
    await sleep(1000);
    // nothing drawn on the shell's screen while suspended
    expect(t.screen()).toEqual(stopped);
    t.type('fg');
    t.keys('Enter');
    await t.waitFor(hasHops(4), 5000, 'the live screen again');
    expect(t.alternateOn()).toBe(true);
    t.keys('q');
    const s = await t.waitFor((x) => lastLine(x) === 'prompt$' && x.some((l) => l.startsWith('HOST: ')), 10000, 'the report and the prompt');
    expect(t.alternateOn()).toBe(false);
    const from = s.findIndex((l) => l.startsWith('Start: '));
    expect(s.slice(from + 1, from + 6).map((l) => l.slice(0, 28).trimEnd())).toEqual([
      expect.stringMatching(/^HOST: /),
      '  1.|-- 10.0.1.2',
      '  2.|-- ???',
      '  3.|-- 10.0.3.2',
      '  4.|-- 10.0.4.2',
    ]);
  }, 40000);

  it('the packet process killed: a clear message, the terminal restored, a non-zero exit', async () => {
    const t = start(`-n -i 0.2 ${lab().hops4[3]}`);
    await t.waitFor(hasHops(4), 15000, 'hops');
    const packet = tree(t.panePid()).find((p) => p.cmd.includes('mtr-packet-ts'));
    expect(packet, 'the packet process').toBeDefined();
    process.kill((packet as { pid: number }).pid, 'SIGKILL');
    const s = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
    expect(s.find((l) => l.startsWith('[exit '))).toBe('[exit 1]');
    expect(t.alternateOn()).toBe(false);
    expect(s.join('\n')).toMatch(/mtr-ts: .*(packet|mtr-packet)/i);
  }, 40000);

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${sig} from outside: the terminal restored, exit ${code}`, async () => {
      const t = start(`-n -i 0.2 ${lab().hops4[3]}`);
      await t.waitFor(hasHops(4), 15000, 'hops');
      // the node process (not the shell whose command line names it too)
      const node = tree(t.panePid()).find((p) => p.cmd.startsWith(process.execPath) && p.cmd.includes('mtr-ts.js'));
      expect(node, 'the mtr-ts process').toBeDefined();
      process.kill((node as { pid: number }).pid, sig);
      const s = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
      expect(s.find((l) => l.startsWith('[exit '))).toBe(`[exit ${code}]`);
      expect(t.alternateOn()).toBe(false);
    }, 40000);
  }

  it('the terminal closed under it (a real hangup): mtr-ts and its packet process are gone', async () => {
    const t = start(`-n -i 0.2 ${lab().hops4[3]}`);
    await t.waitFor(hasHops(4), 15000, 'hops');
    const all = tree(t.panePid());
    const node = all.find((p) => p.cmd.startsWith(process.execPath) && p.cmd.includes('mtr-ts.js'));
    const packet = all.find((p) => p.cmd.includes('mtr-packet-ts'));
    expect(node, 'the mtr-ts process').toBeDefined();
    expect(packet, 'the packet process').toBeDefined();
    const procs = [node, packet] as Array<{ pid: number; cmd: string }>;
    // the pane's pty goes away: the kernel hangs up its session (SIGHUP), reads and writes fail
    t.kill();
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const t0 = Date.now();
    while (Date.now() - t0 < 10000 && procs.some((p) => alive(p.pid))) await sleep(100);
    expect(procs.filter((p) => alive(p.pid)).map((p) => p.cmd)).toEqual([]);
  }, 40000);

  it('-c N: quits by itself after N cycles, exit 0, the report with Snt N', async () => {
    const t = start(`-n -c 3 -i 0.2 ${lab().hops4[3]}`);
    const s = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 20000, 'exit');
    expect(s.find((l) => l.startsWith('[exit '))).toBe('[exit 0]');
    expect(t.alternateOn()).toBe(false);
    expect(t.history().join('\n')).toMatch(/ 1\.\|-- 10\.0\.1\.2 +0\.0% +3 /);
  }, 40000);

  it('stdout not a terminal: the plain report, not one escape byte (also with -t)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-live-'));
    try {
      for (const flags of ['', '-t']) {
        const file = join(dir, `out${flags}.txt`);
        const t = start(`${flags} -n -c 2 -i 0.2 127.0.0.1 > ${file}`);
        await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 15000, 'exit');
        const text = readFileSync(file, 'utf8');
        expect(text).not.toMatch(/\x1b/);
        expect(text).toMatch(/HOST: .*Loss%/);
        expect(text).toMatch(/ 1\.\|-- 127\.0\.0\.1 /);
        t.kill();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40000);
});

describe.skipIf(skipUnless(haveTmux, 'live view crash test: needs tmux'))('live view: a crash still gives the terminal back', () => {
  it('an uncaught exception: terminal restored (normal screen, cooked mode), the error on stderr, exit 1', async () => {
    const run = new URL('../frontend/dist/tty/run.js', import.meta.url).pathname;
    // a stand-in engine whose subscriber throws from a timer a moment after the screen is up
    const script = `
      import { runLive } from '${run}';
      const engine = {
        names: undefined,
        add: () => ({ id: 1 }),
        snapshot: () => undefined,
        subscribe: () => () => {},
        pause() {}, resume() {}, reset() {}, reconfigure() {},
        stop: async () => {},
      };
      setTimeout(() => { throw new Error('boom from a timer'); }, 800);
      const code = await runLive({ cfg: { targets: ['x'], order: 'LS NABWV', dns: false, showIps: false, mpls: false, ipinfo: undefined, cycles: 10 },
        engine, localHostname: 'vm', report: () => [], say: (m) => process.stderr.write(m + '\\n'), out: (t) => process.stdout.write(t),
        isRoot: false, env: process.env, version: 'mtr-ts test' });
      process.exit(code);`;
    const dir = mkdtempSync(join(tmpdir(), 'mtrts-live-'));
    const file = join(dir, 'crash.mjs');
    writeFileSync(file, script);
    const t = new Tmux();
    try {
      t.start(`${process.execPath} ${file}; c=$?; stty -a | grep -o -- '-\\?icanon'; (exit $c)`, 100, 30, { TERM: 'xterm-256color' });
      await t.waitFor((s) => s.some((l) => l.includes('My traceroute')), 5000, 'the live screen');
      expect(t.alternateOn()).toBe(true);
      const s = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
      expect(t.alternateOn()).toBe(false);
      expect(s.join('\n')).toContain('mtr-ts: Error: boom from a timer');
      // the terminal is back in cooked mode (icanon, not -icanon)
      expect(s).toContain('icanon');
      expect(s.find((l) => l.startsWith('[exit '))).toBe('[exit 1]');
    } finally {
      t.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);
});

const skipDiagnosis = requirements('live view diagnosis in tmux', [[haveTmux, 'needs tmux']]);

(skipDiagnosis !== undefined ? describe.skip : describeLab)('live view: the diagnosis line, on a lab whose router limits its ICMP', () => {
  // as test/diagnose-lab.test.ts's first scenario: r2 answers at most one Time Exceeded a second
  const lab = useLab({ delaysMs: [0.5, 1, 1, 0.5] });
  beforeAll(async () => {
    const r = await lab().exec('r2', ['sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=1000', 'net.ipv4.icmp_ratemask=6168']);
    expect(r.code, r.stderr).toBe(0);
  });
  let tmux: Tmux | undefined;
  afterEach(() => {
    tmux?.kill();
    tmux = undefined;
  });

  it('the line says judging, then icmp-rate-limited at hop 2; v shows it in full, v goes back, q exits 0', async () => {
    const t = new Tmux();
    tmux = t;
    t.start(`ip netns exec ${lab().names.client} ${process.execPath} ${ourFrontend} -n -i 0.1 ${lab().hops4[3]}`, 100, 30, { TERM: 'xterm-256color', TZ: 'UTC' });
    const first = await t.waitFor((s) => s.some((l) => l.startsWith('Diagnosis: judging: ')), 15000, 'the diagnosis line, judging');
    expect(first[2]).toBe('Keys:  Help   Display mode   Restart statistics   Order of fields   quit   Verdicts');
    const s = await t.waitFor((x) => x.some((l) => /^Diagnosis: (.*; )?hop 2 icmp-rate-limited\b/.test(l)), 60000, 'icmp-rate-limited at hop 2');
    // the line sits under the hops, after a blank line
    const at = s.findIndex((l) => l.startsWith('Diagnosis:'));
    expect(s[at - 1]).toBe('');
    expect(s[at - 2]).toMatch(/^ 4\. 10\.0\.4\.2 /);
    t.type('v');
    const full = await t.waitFor((x) => x.some((l) => /^ {2}hop 2: icmp-rate-limited \(/.test(l)), 3000, 'the diagnosis in full');
    expect(full.some((l) => /^ {4}What to do: /.test(l))).toBe(true);
    expect(full.some((l) => /^ 1\. /.test(l))).toBe(false);
    t.type('v');
    await t.waitFor((x) => x.some((l) => /^ 1\. 10\.0\.1\.2 /.test(l)), 3000, 'the hops again');
    t.type('q');
    const end = await t.waitFor((x) => x.some((l) => l.startsWith('[exit ')), 10000, 'exit');
    expect(end.find((l) => l.startsWith('[exit '))).toBe('[exit 0]');
    expect(t.alternateOn()).toBe(false);
  }, 120000);
});
