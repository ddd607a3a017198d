// Which dialect of the protocol to speak: 0.95's words unless the environment asks for 0.96's
// (mtr execs MTR_PACKET without arguments, so an argument could not ask).

import { DEFAULT_DIALECT, DIALECT_ENV, DIALECTS, type Dialect } from '@mtr-ts/protocol';

export function dialectFromEnv(env: NodeJS.ProcessEnv): Dialect | { error: string } {
  const v = env[DIALECT_ENV];
  if (v === undefined || v === '') return DEFAULT_DIALECT;
  if ((DIALECTS as readonly string[]).includes(v)) return v as Dialect;
  return { error: `${DIALECT_ENV}=${v}: the dialect must be one of ${DIALECTS.join(', ')}` };
}
