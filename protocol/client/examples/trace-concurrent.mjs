#!/usr/bin/env node
// A traceroute that sends every TTL at once and prints the path when all have answered.
//   node trace-concurrent.mjs HOST [--protocol icmp|udp|tcp] [--port N] [--max-ttl N] [--packet PATH]
import { MtrPacket } from '@mtr-ts/client';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    protocol: { type: 'string', default: 'icmp' },
    port: { type: 'string' },
    'max-ttl': { type: 'string', default: '30' },
    packet: { type: 'string' },
  },
});
const host = positionals[0] ?? 'localhost';
const maxTtl = Number(values['max-ttl']);
const options = { protocol: values.protocol, timeout: 2, ...(values.port !== undefined && { port: Number(values.port) }) };

const mtr = await MtrPacket.open({ command: values.packet });
try {
  const { address } = await mtr.resolve(host); // once, so every probe goes to the same address
  const ttls = Array.from({ length: maxTtl }, (_, i) => i + 1);
  const results = await Promise.all(ttls.map((ttl) => mtr.probe(address, { ...options, ttl })));
  console.log(`trace to ${host} (${address}), ${values.protocol}`);
  for (const [i, r] of results.entries()) {
    const ttl = i + 1;
    if ('address' in r) {
      const note = r.kind === 'unreachable' ? ` !${r.reason}` : '';
      console.log(`${String(ttl).padStart(2)}. ${r.address.padEnd(39)} ${(r.rtt / 1000).toFixed(3)} ms${note}`);
    } else {
      console.log(`${String(ttl).padStart(2)}. ${r.kind === 'refused' ? r.message : '???'}`);
    }
    // the first answer from the destination (or an unreachable) ends the path
    if (r.kind === 'reply' || r.kind === 'unreachable' || r.kind === 'refused') break;
  }
} finally {
  await mtr.close();
}
