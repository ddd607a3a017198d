// Whether the live view runs, and in colour. Kept apart from the live view's modules so that the
// report path (cli.ts) decides without loading them (string-width's tables cost tens of ms at start).

/** The live view runs when nothing else was asked for and both ends are a capable terminal. */
export function liveWanted(defaultedMode: boolean, env: NodeJS.ProcessEnv, stdin: { isTTY?: boolean } = process.stdin, stdout: { isTTY?: boolean } = process.stdout): boolean {
  if (!defaultedMode) return false;
  if (stdin.isTTY !== true || stdout.isTTY !== true) return false;
  const term = env['TERM'];
  return term !== undefined && term !== '' && term !== 'dumb';
}

/** Colour unless NO_COLOR is set (any non-empty value, no-color.org) or the terminal is dumb. */
export function colourWanted(env: NodeJS.ProcessEnv): boolean {
  const nc = env['NO_COLOR'];
  return (nc === undefined || nc === '') && env['TERM'] !== 'dumb';
}
