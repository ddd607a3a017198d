#!/usr/bin/env python3
"""treemon.py CMD ARGS...: run CMD and report, as one JSON line on stderr prefixed 'TREEMON ', the CPU time and
memory of CMD and every process it starts (e.g. a front-end and its packet child), counted together.

- CPU: this process becomes a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so every descendant is reaped by
  someone inside the tree or by us; after all are reaped, getrusage(RUSAGE_CHILDREN) holds user+sys of them all.
- Memory: /proc is polled every 10 ms for the tree's processes; peakRssSumKb is the largest sum of VmRSS seen at
  one poll, hwmSumKb the sum over processes of each one's last VmHWM (its own peak: an upper bound of the
  combined peak, and a sample cannot miss it).
stdin/stdout pass through.
"""
import ctypes, json, os, resource, sys, time

PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

def status(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            d = {}
            for line in f:
                k, _, v = line.partition(':')
                if k in ('PPid', 'VmRSS', 'VmHWM'):
                    d[k] = int(v.split()[0])
            return d
    except OSError:
        return None

def tree(root):
    me = os.getpid()
    kids = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                s = f.read()
            ppid = int(s[s.rindex(')') + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    out, todo = [], [me]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out

t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)

hwm = {}
peak_sum = 0
exit_status = None
live = True
while True:
    pids = tree(pid)
    s = 0
    for p in pids:
        st = status(p)
        if st and 'VmRSS' in st:
            s += st['VmRSS']
            hwm[p] = max(hwm.get(p, 0), st.get('VmHWM', 0))
    peak_sum = max(peak_sum, s)
    # reap whatever has exited (ours or adopted orphans)
    while True:
        try:
            r, w = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            r = -1
        if r == 0:
            break
        if r == -1:
            live = False
            break
        if r == pid:
            exit_status = w
    if not live:
        break
    time.sleep(0.01)

elapsed = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
code = os.waitstatus_to_exitcode(exit_status) if exit_status is not None else None
sys.stderr.write('TREEMON ' + json.dumps({
    'cpuUser': ru.ru_utime, 'cpuSys': ru.ru_stime, 'cpu': ru.ru_utime + ru.ru_stime,
    'peakRssSumKb': peak_sum, 'hwmSumKb': sum(hwm.values()), 'processes': len(hwm),
    'elapsed': elapsed, 'exit': code}) + '\n')
sys.exit(0 if code == 0 else 1)
