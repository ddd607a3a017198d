/** Packet capture in a lab node, on kernel timestamps: what happened on the wire, independent of the prober. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { parseIcmpPcap, type IcmpPacket } from './pcap.js';

/**
 * Capture ICMP on the client's only interface (kernel timestamps) while `fn` runs. When `until` is given,
 * wait (up to 5 s) after `fn` until the packets written satisfy it: tcpdump drops what it has not read yet
 * when it stops, and on a loaded host it can be behind.
 */
export async function captureOnClient<T>(
  lab: Lab,
  fn: () => Promise<T>,
  until?: (packets: IcmpPacket[]) => boolean,
): Promise<{ result: T; packets: IcmpPacket[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'mtrts-lab-pcap-'));
  const file = join(dir, 'l1.pcap');
  try {
    const td = lab.spawnIn('client', 'tcpdump', ['-i', 'l1', '-n', '--immediate-mode', '-U', '-Z', 'root', '--time-stamp-precision=nano', '-w', file, 'icmp or icmp6'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const closed = new Promise<void>((resolve) => td.on('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 5000);
      td.stderr!.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const result = await fn();
    await new Promise((r) => setTimeout(r, 50));
    if (until !== undefined) await waitForCapture(() => parseIcmpPcap(readFileSync(file)), until, 5_000);
    td.kill('SIGINT');
    await closed;
    return { result, packets: parseIcmpPcap(readFileSync(file)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Poll `read` every 50 ms until `until` holds of what it returns or `waitMs` pass (a pcap cut mid-record reads short). */
export async function waitForCapture<T>(read: () => T, until: (got: T) => boolean, waitMs: number): Promise<void> {
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
