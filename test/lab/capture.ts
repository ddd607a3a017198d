/**
 * tcpdump in a lab node, on kernel timestamps: what happened on the wire, independent of the prober. Start it,
 * wait until it listens, run something, stop it (optionally once the file holds what the test expects), parse.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab, NsName } from './lab.js';
import { ipPackets, parseIcmpPcap, type IcmpPacket, type IpPacket } from './pcap.js';

export interface CaptureOptions {
  /** tcpdump's filter expression (default `ip or ip6`) */
  filter?: string;
  /** `--time-stamp-precision=nano`: ns kernel timestamps in the file (default µs) */
  nanoTimestamps?: boolean;
}

export interface StopOptions<P> {
  /**
   * Before stopping, wait (polling the file) until the packets written so far satisfy this, for at most
   * `waitMs`: tcpdump stops reading on SIGINT, so whatever still sits in its socket's ring is never written,
   * and a capture on a loaded host can be that far behind (3 of 20 answers missing in one CI run).
   */
  until?: (packets: P[]) => boolean;
  /** the most to wait for `until` (default 5 s) */
  waitMs?: number;
}

export interface Capture<P> {
  /** Stop tcpdump (SIGINT, it flushes) and return the packets it saw. Idempotent. */
  stop(opts?: StopOptions<P>): Promise<P[]>;
}

/**
 * Start `tcpdump -i <ifname> -w <file> -U --immediate-mode` in `ns` and resolve once it prints "listening on".
 * The capture file lives in a private temporary directory, removed by stop(). The packets are those of
 * `parse` (default: the IP packets, `ipPackets`).
 */
export function startCapture(lab: Lab, ns: NsName, ifname: string, opts?: CaptureOptions): Promise<Capture<IpPacket>>;
export function startCapture<P>(
  lab: Lab,
  ns: NsName,
  ifname: string,
  opts: CaptureOptions & { parse: (buf: Uint8Array) => P[] },
): Promise<Capture<P>>;
export async function startCapture<P>(
  lab: Lab,
  ns: NsName,
  ifname: string,
  opts: CaptureOptions & { parse?: (buf: Uint8Array) => P[] } = {},
): Promise<Capture<P | IpPacket>> {
  const parse = opts.parse ?? ipPackets;
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-cap-'));
  const file = join(dir, 'cap.pcap');
  const read = (): Array<P | IpPacket> => parse(new Uint8Array(readFileSync(file)));
  const precision = opts.nanoTimestamps === true ? ['--time-stamp-precision=nano'] : [];
  // -Z root: Debian's tcpdump would otherwise switch to user tcpdump before opening the file in our 0700 dir.
  const args = ['-i', ifname, '-w', file, '-U', '--immediate-mode', '-n', '-s', '0', '-Z', 'root', ...precision, opts.filter ?? 'ip or ip6'];
  const td = lab.spawnIn(ns, 'tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<void>((resolve) => td.on('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start within 10 s: ${stderr}`)), 10_000);
      td.stderr!.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      td.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      td.on('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited (${code}): ${stderr}`));
      });
    });
  } catch (e) {
    td.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let result: Promise<Array<P | IpPacket>> | undefined;
  return {
    stop(stopOpts = {}) {
      result ??= (async () => {
        try {
          const until = stopOpts.until;
          if (until !== undefined) await waitForCapture(read, until, stopOpts.waitMs ?? 5_000);
          td.kill('SIGINT');
          const killer = setTimeout(() => td.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
          return read();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })();
      return result;
    },
  };
}

/**
 * Capture ICMP on the client's only interface (ns kernel timestamps) while `fn` runs. When `until` is given,
 * wait (up to 5 s) after `fn` until the packets written satisfy it: tcpdump drops what it has not read yet
 * when it stops, and on a loaded host it can be behind.
 */
export async function captureOnClient<T>(
  lab: Lab,
  fn: () => Promise<T>,
  until?: (packets: IcmpPacket[]) => boolean,
): Promise<{ result: T; packets: IcmpPacket[] }> {
  const cap = await startCapture(lab, 'client', 'l1', { filter: 'icmp or icmp6', nanoTimestamps: true, parse: parseIcmpPcap });
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    await cap.stop();
    throw e;
  }
  await new Promise((r) => setTimeout(r, 50));
  return { result, packets: await cap.stop({ until }) };
}

/** Poll `read` every 50 ms until `until` holds of what it returns or `waitMs` pass (a pcap cut mid-record reads short). */
async function waitForCapture<T>(read: () => T, until: (got: T) => boolean, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      if (until(read())) return;
    } catch {
      // the file header not written yet
    }
    if (Date.now() >= deadline) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
