// mtr-ts's main() run in-process against the fake packet program: what it wrote, and its exit status.
// Shared by the command-line suites (cli, json-outputs, diagnose-cli).

import { main, type Io } from '../src/cli.js';

export const FAKE = new URL('./fixtures/fake-mtr-packet.mjs', import.meta.url).pathname;

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    errIsTty: false,
    env: { ...process.env, MTR_PACKET: FAKE, ...env },
    isRoot: true,
    onInterrupt: () => () => {},
  };
  const code = await main(args, io);
  return { code, out, err };
}
