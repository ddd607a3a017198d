// tcpdump in a lab namespace: start it, wait until it listens, run something, stop it, parse the file.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab, NsName } from '../lab/lab.js';
import { waitForCapture } from '../lab/capture.js';
import { ipPackets, type IpPacket } from '../lab/pcap.js';

export interface StopOptions {
  /**
   * Before stopping, wait (polling the file) until the packets written so far satisfy this, for at most
   * `waitMs`: tcpdump stops reading on SIGINT, so whatever still sits in its socket's ring is never written,
   * and a capture on a loaded host can be that far behind (3 of 20 answers missing in one CI run).
   */
  until?: (packets: IpPacket[]) => boolean;
  /** the most to wait for `until` (default 5 s) */
  waitMs?: number;
}

export interface Capture {
  /** Stop tcpdump (SIGINT, it flushes) and return the IP packets it saw. Idempotent. */
  stop(opts?: StopOptions): Promise<IpPacket[]>;
}


/**
 * Start `tcpdump -i <ifname> -w <file> -U --immediate-mode` in `ns` and resolve once it prints "listening on".
 * The capture file lives in a private temporary directory, removed by stop().
 */
export async function startCapture(lab: Lab, ns: NsName, ifname: string, filter = 'ip or ip6'): Promise<Capture> {
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-cap-'));
  const file = join(dir, 'cap.pcap');
  // -Z root: Debian's tcpdump would otherwise switch to user tcpdump before opening the file in our 0700 dir.
  const td = lab.spawnIn(ns, 'tcpdump', ['-i', ifname, '-w', file, '-U', '--immediate-mode', '-n', '-s', '0', '-Z', 'root', filter], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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
  let result: Promise<IpPacket[]> | undefined;
  return {
    stop(opts = {}) {
      result ??= (async () => {
        try {
          const until = opts.until;
          if (until !== undefined)
            await waitForCapture(() => ipPackets(new Uint8Array(readFileSync(file))), until, opts.waitMs ?? 5_000);
          td.kill('SIGINT');
          const killer = setTimeout(() => td.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(killer);
          return ipPackets(new Uint8Array(readFileSync(file)));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      })();
      return result;
    },
  };
}
