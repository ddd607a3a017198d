// How the daemon's life ends besides end of input: a signal, or its parent's death.
//
// SIGTERM, SIGINT and SIGHUP end it at once, whatever stdout's state: what is in flight is
// abandoned, the sockets are closed, and the signal is raised again with its default action, so
// the exit status says which signal it was (as mtr-packet's, which has no handlers). A parent
// that dies takes the daemon with it (PR_SET_PDEATHSIG), instead of leaving it with its raw
// sockets until its probes time out.

import { constants } from 'node:os';

export const ENDING_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Closes what must be closed, then dies of the signal. */
export function dieOf(signal: NodeJS.Signals, cleanup: () => void): never {
  try {
    cleanup();
  } catch {
    // dying anyway
  }
  // With no listener left, Node gives the signal back its default action.
  for (const s of ENDING_SIGNALS) process.removeAllListeners(s);
  process.kill(process.pid, signal);
  // Not reached when the default action ran; 128+n is the shell's way of saying the same.
  process.exit(128 + (constants.signals[signal] ?? 0));
}

/** Installs the handlers: each of ENDING_SIGNALS runs cleanup and ends the process by that signal. */
export function endOnSignals(cleanup: () => void): void {
  for (const sig of ENDING_SIGNALS) process.once(sig, () => dieOf(sig, cleanup));
}

/**
 * Asks for SIGTERM when the parent dies (set after any change of credentials, which clears it).
 * `parentAtStart` is process.ppid read first thing: when it differs now, the parent died before
 * the request took effect, and the daemon ends at once the same way.
 */
export function endWithParent(
  setParentDeathSignal: (signal: number) => void,
  parentAtStart: number,
  cleanup: () => void,
): void {
  try {
    setParentDeathSignal(constants.signals.SIGTERM);
  } catch {
    return; // not fatal: stdin's end and stdout's EPIPE still end it
  }
  if (process.ppid !== parentAtStart) dieOf('SIGTERM', cleanup);
}
