// Runs a packet process (ours or the reference) with given stdin, optionally inside a network
// namespace, and collects what it said. Bounded in time: a hung process is killed.

import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runProcess(
  argv: string[],
  input: string | Uint8Array,
  opts: { netns?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; chunks?: number } = {},
): Promise<RunResult> {
  const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(full[0]!, full.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('latin1');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => {});
    const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : Buffer.from(input);
    child.stdin.end(buf);
  });
}

/** Reply lines with round-trip times replaced, sorted, so two runs can be compared. */
export function normalise(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.replace(/round-trip-time [0-9]+/, 'round-trip-time N'))
    .sort();
}

/** The reply lines for each token, RTTs normalised. */
export function byToken(stdout: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const l of normalise(stdout)) {
    const t = l.split(' ')[0]!;
    const list = m.get(t) ?? [];
    list.push(l);
    m.set(t, list);
  }
  return m;
}

/**
 * The environment for a front-end run under test: no MTR_PACKET (unless `extra` sets it) or MTR_OPTIONS
 * leaking in from the caller.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (!('MTR_PACKET' in extra)) delete env.MTR_PACKET;
  delete env.MTR_OPTIONS;
  return env;
}

/** A finished run for an assertion message: exit status, stdout, stderr. */
export function showRun(r: { code: number | null; signal?: NodeJS.Signals | string | null; stdout: string; stderr: string }): string {
  return `exit ${r.code ?? r.signal}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}
