// tmux as a person's terminal for the live-view tests: a private tmux server per run (its own socket),
// a window of a given size, keys sent as a person types them, the screen read back as text or with
// its SGR attributes (capture-pane -e), and the exit status printed by the shell after the program.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Whether a tmux binary runs here (the live-view tests need one). */
export const haveTmux = ((): boolean => {
  try {
    execFileSync('tmux', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

export class Tmux {
  readonly socket = `mtrts-live-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly session = 'live';

  private tmux(args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Starts `command` (a shell line) in a cols x rows window; the shell prints "[exit N]" after it. */
  start(command: string, cols: number, rows: number, env: Record<string, string> = {}): void {
    const exports = Object.entries(env)
      .map(([k, v]) => `export ${k}='${v.replace(/'/g, "'\\''")}'; `)
      .join('');
    const line = `${exports}${command}; echo "[exit $?]"; sleep 600`;
    this.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', this.session, '-x', String(cols), '-y', String(rows), 'sh', '-c', line]);
    this.tmux(['set-option', '-t', this.session, 'history-limit', '5000']);
  }

  /** An interactive bash (job control: Ctrl-Z, fg) in a cols x rows window. */
  startShell(cols: number, rows: number, env: Record<string, string> = {}): void {
    const exports = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    this.tmux(['-f', '/dev/null', 'new-session', '-d', '-s', this.session, '-x', String(cols), '-y', String(rows), 'env', ...exports, 'bash', '--norc', '--noprofile', '-i']);
    this.tmux(['set-option', '-t', this.session, 'history-limit', '5000']);
  }

  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', this.session, ...keys]);
  }

  /** literal text */
  type(text: string): void {
    this.tmux(['send-keys', '-t', this.session, '-l', text]);
  }

  resize(cols: number, rows: number): void {
    this.tmux(['resize-window', '-t', this.session, '-x', String(cols), '-y', String(rows)]);
  }

  /** The visible screen, trailing blanks removed per line. */
  screen(): string[] {
    return this.tmux(['capture-pane', '-p', '-t', this.session]).replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
  }

  /** The visible screen with SGR escapes (-e). */
  screenWithAttributes(): string[] {
    return this.tmux(['capture-pane', '-p', '-e', '-t', this.session]).replace(/\n$/, '').split('\n');
  }

  /** Everything, scrollback included. */
  history(): string[] {
    return this.tmux(['capture-pane', '-p', '-S', '-', '-t', this.session]).replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
  }

  /** 1 when the pane shows the alternate screen */
  alternateOn(): boolean {
    return this.tmux(['display-message', '-p', '-t', this.session, '#{alternate_on}']).trim() === '1';
  }

  panePid(): number {
    return Number(this.tmux(['display-message', '-p', '-t', this.session, '#{pane_pid}']).trim());
  }

  async waitFor(test: (screen: string[]) => boolean, ms = 10000, what = 'the screen'): Promise<string[]> {
    const t0 = Date.now();
    let s: string[] = [];
    while (Date.now() - t0 < ms) {
      s = this.screen();
      try {
        if (test(s)) return s;
      } catch {
        // the screen is not there yet (e.g. a row without numbers right after a reset): look again
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timeout waiting for ${what}; screen:\n${s.join('\n')}`);
  }

  kill(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
  }
}
