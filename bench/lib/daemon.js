// One probe daemon (ours or the reference) as a child process speaking the mtr-packet line protocol, with
// /proc readings of its CPU time and memory. Never throws on a daemon failure: results carry `error`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lab.js';

export const DAEMONS = {
  ours: { label: 'mtr-packet-ts', cmd: join(ROOT, 'packet', 'bin', 'mtr-packet-ts'), args: [] },
  ref: { label: 'mtr-packet 0.95', cmd: '/usr/bin/mtr-packet', args: [] },
};

const TICK_S = 1 / 100; // sysconf(_SC_CLK_TCK) is 100 on Linux (checked by `getconf CLK_TCK` in run.js)

/** utime+stime in seconds of the whole process (all threads, live and exited), from /proc/<pid>/stat. */
export function procCpu(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime is field 14, stime field 15.
    const user = Number(f[11]) * TICK_S;
    const sys = Number(f[12]) * TICK_S;
    return { user, sys, total: user + sys };
  } catch {
    return undefined;
  }
}

/** VmRSS / VmHWM in kB from /proc/<pid>/status. */
export function procMem(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const get = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [])[1]);
    return { rssKb: get('VmRSS'), hwmKb: get('VmHWM') };
  } catch {
    return undefined;
  }
}

// Daemons still running when the benchmark exits (Ctrl-C, a crash) are killed by pid; the lab module tears
// down its namespaces on exit/SIGINT/SIGTERM/SIGHUP by itself.
const live = new Set();
process.on('exit', () => {
  for (const d of live) d.kill();
});

/**
 * Datagrams the kernel dropped on this process's raw/UDP sockets (receive buffer full), summed from the
 * `drops` column of /proc/net/{raw,raw6,udp,udp6} over the socket inodes in /proc/<pid>/fd.
 */
export function sockDrops(pid) {
  try {
    const inodes = new Set();
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        if (m) inodes.add(m[1]);
      } catch {
        // the fd closed while we looked: not a socket of ours any more
      }
    }
    let drops = 0;
    for (const t of ['raw', 'raw6', 'udp', 'udp6']) {
      const lines = readFileSync(`/proc/net/${t}`, 'utf8').trim().split('\n').slice(1);
      for (const l of lines) {
        const f = l.trim().split(/\s+/);
        if (inodes.has(f[9])) drops += Number(f.at(-1));
      }
    }
    return drops;
  } catch {
    return undefined;
  }
}

/** The addon ours loads; other engineers rebuild it in the shared workspace now and then. */
export const ADDON = join(ROOT, 'native', 'build', 'Release', 'mtr_native.node');

/**
 * Wait (up to maxMs) until the workspace's build outputs that ours needs exist: a rebuild by someone else
 * (`pnpm install`, node-gyp) deletes them for a few seconds. Returns the ms waited.
 */
export async function waitForBuild(maxMs = 180_000) {
  const t0 = Date.now();
  const need = [ADDON, join(ROOT, 'packet', 'dist', 'main.js')];
  while (!need.every((f) => existsSync(f)) && Date.now() - t0 < maxMs) await new Promise((r) => setTimeout(r, 500));
  // A file that just reappeared may still be being written: give the build a moment.
  if (Date.now() - t0 > 0 && Date.now() - t0 >= 500) await new Promise((r) => setTimeout(r, 3000));
  const waited = Date.now() - t0;
  if (waited >= 500) buildWaits.push(waited);
  return waited;
}
export const buildWaits = [];

export class Daemon {
  /** Like the constructor, but for ours first waits for the workspace build to be present. */
  static async start(which, opts) {
    if (which !== 'ref') await waitForBuild();
    return new Daemon(which, opts);
  }

  /**
   * @param {'ours'|'ref'} which
   * @param {{ ns?: string, args?: string[] }} [opts] ns: network namespace name (run through `ip netns exec`,
   *   which execs in place, so the pid is the daemon's own)
   */
  constructor(which, opts = {}) {
    const d = DAEMONS[which];
    this.which = which;
    this.label = d.label;
    const args = [...d.args, ...(opts.args ?? [])];
    const [cmd, argv] = opts.ns ? ['ip', ['netns', 'exec', opts.ns, d.cmd, ...args]] : [d.cmd, args];
    this.spawnedAt = process.hrtime.bigint();
    this.child = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    live.add(this);
    this.stderr = '';
    this.exited = false;
    this.exit = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.spawnError = e;
        this.exited = true;
        resolve({ code: null, signal: null, error: e.message });
      });
      this.child.on('close', (code, signal) => {
        this.exited = true;
        live.delete(this);
        resolve({ code, signal });
      });
    });
    this.child.stdin.on('error', () => {}); // EPIPE if it died: reported through `exit`
    this.child.stderr.setEncoding('utf8').on('data', (d) => {
      if (this.stderr.length < 4000) this.stderr += d;
    });
    this.onLines = undefined; // (lines: string[], nowNs: bigint) => void
    let tail = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const now = process.hrtime.bigint();
      const parts = (tail + chunk).split('\n');
      tail = parts.pop();
      if (parts.length && this.onLines) this.onLines(parts, now);
    });
  }

  write(text) {
    if (!this.exited) this.child.stdin.write(text);
  }

  /** Close stdin (the daemon drains what is in flight and exits); resolves with the exit status. */
  async close(timeoutMs = 30_000) {
    if (!this.exited) this.child.stdin.end();
    const t = setTimeout(() => this.kill(), timeoutMs);
    const r = await this.exit;
    clearTimeout(t);
    return r;
  }

  kill() {
    if (!this.exited) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  cpu() {
    return procCpu(this.pid);
  }

  mem() {
    return procMem(this.pid);
  }

  /** Send `check-support` and resolve with ms from spawn to its reply (or reject after timeoutMs). */
  ready(timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const prev = this.onLines;
      const t = setTimeout(() => {
        this.onLines = prev;
        reject(new Error(`no feature-support reply in ${timeoutMs} ms${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
      }, timeoutMs);
      this.exit.then((e) => {
        clearTimeout(t);
        reject(new Error(`exited before ready (${JSON.stringify(e)})${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
      });
      this.onLines = (lines, now) => {
        for (const l of lines) {
          if (l.startsWith('999999 feature-support')) {
            clearTimeout(t);
            this.onLines = prev;
            resolve(Number(now - this.spawnedAt) / 1e6);
            return;
          }
        }
      };
      this.write('999999 check-support feature send-probe\n');
    });
  }
}

/** Reply kind of a line `TOKEN kind ...`, and its round-trip-time in µs if any. */
export function parseReply(line) {
  const sp1 = line.indexOf(' ');
  const sp2 = line.indexOf(' ', sp1 + 1);
  const token = Number(line.slice(0, sp1));
  let kind = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
  if (kind === 'invalid-argument') kind = line.slice(sp1 + 1); // keep the reason
  const m = line.lastIndexOf('round-trip-time ');
  const rttUs = m < 0 ? undefined : Number(line.slice(m + 16));
  return { token, kind, rttUs };
}

/**
 * Send `count` probe lines (`mk(i)` gives the command after the token; tokens are 1..count) and wait for
 * every reply. window: undefined = all written at once; N = at most N outstanding (a new command for every
 * reply, written once per stdout chunk). Reads the child's CPU time before the first probe and after the
 * last reply (before stdin is closed), and its VmHWM. The daemon is left open.
 */
export function runProbes(d, count, mk, { window, timeoutMs = 120_000, onReply } = {}) {
  return new Promise((resolve) => {
    const kinds = {};
    const rtts = [];
    const seen = new Uint8Array(count + 1);
    let replies = 0;
    let next = 1;
    const cpu0 = d.cpu();
    const t0 = process.hrtime.bigint();
    let done = false;
    const finish = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const t1 = process.hrtime.bigint();
      const cpu1 = d.cpu();
      const mem = d.mem();
      const drops = sockDrops(d.pid);
      d.onLines = undefined;
      const elapsedS = Number(t1 - t0) / 1e9;
      resolve({
        count,
        replies,
        lost: count - replies,
        kinds,
        rtts,
        elapsedS,
        rate: replies / elapsedS,
        cpuS: cpu0 && cpu1 ? cpu1.total - cpu0.total : undefined,
        mem,
        drops,
        error,
      });
    };
    const timer = setTimeout(() => finish(`timeout: ${replies}/${count} replies after ${timeoutMs} ms`), timeoutMs);
    d.exit.then((e) => finish(`daemon exited (${e.signal ?? `code ${e.code}`}) after ${replies}/${count} replies${d.stderr ? `: ${d.stderr.trim().slice(0, 200)}` : ''}`));
    const writeUpTo = (n) => {
      let s = '';
      while (next <= n && next <= count) {
        s += `${next} ${mk(next)}\n`;
        next++;
      }
      if (s) d.write(s);
    };
    d.onLines = (lines) => {
      let got = 0;
      for (const l of lines) {
        if (!l) continue;
        const r = parseReply(l);
        if (!(r.token >= 1 && r.token <= count) || seen[r.token]) continue;
        seen[r.token] = 1;
        got++;
        kinds[r.kind] = (kinds[r.kind] ?? 0) + 1;
        if (r.rttUs !== undefined) rtts.push(r.rttUs);
        if (onReply) onReply(r);
      }
      replies += got;
      if (replies >= count) return finish();
      if (window) writeUpTo(next - 1 + got);
    };
    if (window) writeUpTo(window);
    else {
      // Everything at once, but in 64 KiB pieces queued back to back (one giant string costs the harness).
      let s = '';
      for (let i = 1; i <= count; i++) {
        s += `${i} ${mk(i)}\n`;
        if (s.length > 65536) {
          d.write(s);
          s = '';
        }
      }
      if (s) d.write(s);
      next = count + 1;
    }
  });
}

/**
 * Write a few commands at once (tokens from the daemon's own counter, starting at 1) and resolve with their
 * parsed replies in command order (undefined for any not answered within timeoutMs). Replaces `onLines`.
 */
export function ask(d, cmds, timeoutMs = 5000) {
  d.nextToken ??= 1;
  const tokens = cmds.map(() => d.nextToken++);
  const first = tokens[0];
  return new Promise((resolve) => {
    const out = new Array(cmds.length);
    let left = cmds.length;
    const t = setTimeout(() => resolve(out), timeoutMs);
    d.onLines = (lines, now) => {
      for (const l of lines) {
        if (!l) continue;
        const r = parseReply(l);
        const i = r.token - first;
        if (i >= 0 && i < out.length && !out[i]) {
          r.atNs = now;
          out[i] = r;
          if (--left === 0) {
            clearTimeout(t);
            resolve(out);
          }
        }
      }
    };
    d.write(cmds.map((c, i) => `${tokens[i]} ${c}\n`).join(''));
  });
}
