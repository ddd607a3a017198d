// A TCP listener on the lab's destination (IPv4 and IPv6), for probes that need an open port.

import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../lab/lab.js';

const LISTENER = `
import socket, sys, threading
port = int(sys.argv[1])
def serve(fam, addr):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port)); s.listen(512)
    while True:
        c, _ = s.accept(); c.close()
threading.Thread(target=serve, args=(socket.AF_INET, '0.0.0.0'), daemon=True).start()
serve(socket.AF_INET6, '::')
`;

/** Starts the listener in dest and waits until both families listen. Killed at lab teardown. */
export async function startTcpListener(lab: Lab, port: number): Promise<ChildProcess> {
  const child = lab.spawnIn('dest', 'python3', ['-c', LISTENER, String(port)]);
  for (let i = 0; i < 100; i++) {
    const r = await lab.exec('dest', ['ss', '-Hltn', `sport = :${port}`]);
    if (r.stdout.split('\n').filter(Boolean).length >= 2) return child;
    await new Promise((res) => setTimeout(res, 50));
  }
  child.kill();
  throw new Error(`the TCP listener on port ${port} did not come up`);
}
