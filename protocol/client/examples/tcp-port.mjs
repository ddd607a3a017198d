#!/usr/bin/env node
// Does HOST answer on a TCP port? A TCP probe is a SYN: `reply` means the host answered it (with
// SYN-ACK or RST: mtr-packet does not say which, so "answered" is open or closed, not filtered);
// no-reply means nothing came back (filtered, or down); an unreachable names the router that said so.
//   node tcp-port.mjs HOST PORT [--packet PATH]
import { MtrPacket } from '@mtr-ts/client';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { packet: { type: 'string' } } });
const [host = 'localhost', port = '80'] = positionals;

const mtr = await MtrPacket.open({ command: values.packet });
try {
  if ((await mtr.checkSupport('tcp')) !== 'ok') throw new Error('this packet program cannot send TCP probes');
  const r = await mtr.probe(host, { protocol: 'tcp', port: Number(port), timeout: 2 });
  switch (r.kind) {
    case 'reply':
      console.log(`${host} port ${port}/tcp: answered by ${r.address} in ${(r.rtt / 1000).toFixed(3)} ms`);
      break;
    case 'no-reply':
      console.log(`${host} port ${port}/tcp: no answer (filtered or down)`);
      process.exitCode = 1;
      break;
    case 'unreachable':
      console.log(`${host} port ${port}/tcp: unreachable (${r.reason}) says ${r.address}`);
      process.exitCode = 1;
      break;
    default:
      console.log(`${host} port ${port}/tcp: ${r.kind === 'refused' ? r.message : r.kind}`);
      process.exitCode = 2;
  }
} finally {
  await mtr.close();
}
