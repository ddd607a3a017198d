/** Packet capture in a lab node, on kernel timestamps: what happened on the wire, independent of the prober. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { parseIcmpPcap, type IcmpPacket } from './pcap.js';

/** Capture ICMP on the client's only interface (kernel timestamps) while `fn` runs. */
export async function captureOnClient<T>(lab: Lab, fn: () => Promise<T>): Promise<{ result: T; packets: IcmpPacket[] }> {
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
    td.kill('SIGINT');
    await closed;
    return { result, packets: parseIcmpPcap(readFileSync(file)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

