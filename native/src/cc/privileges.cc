#include "privileges.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>
#include <sys/socket.h>
#include <sys/uio.h>

namespace mtr {

namespace {

// Capabilities, the bounding set and no_new_privs belong to each thread, not to the process, and
// Node runs several threads (libuv pool, V8 platform workers). The calling thread drops first; every
// other thread then does the same from a short-lived signal handler (what libpsx does for libcap).

// The per-thread drop; only raw syscalls, so it is async-signal-safe. Returns 0 or an errno.
int DropThisThread() {
  for (int cap = 0; cap < 64; cap++) {
    if (syscall(SYS_prctl, PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;
    (void)syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  (void)syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct header;
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  std::memset(data, 0, sizeof data);
  if (syscall(SYS_capset, &header, data) != 0) return errno;
  if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return 0;
}

// Acknowledgements from other threads; only touched with atomics (signal handler context).
// Process-wide by nature: signal handlers are process-wide. Only the caller of DropPrivileges
// (once, on one thread) and the handler touch it.
int g_acks = 0;

void OnDropSignal(int) {
  const int saved = errno;
  (void)DropThisThread();
  __atomic_fetch_add(&g_acks, 1, __ATOMIC_SEQ_CST);
  errno = saved;
}

std::set<pid_t> ThreadIds() {
  std::set<pid_t> tids;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return tids;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    tids.insert(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)));
  }
  closedir(d);
  return tids;
}

// Reads a hex field ("CapEff", "SigBlk") of /proc/self/task/<tid>/status. False if the thread
// is gone or the field is missing.
bool TaskField(pid_t tid, const char* field, uint64_t* value) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = 0;
  char key[32];
  snprintf(key, sizeof key, "\n%s:", field);
  const char* at = strstr(buf, key);
  if (at == nullptr) return false;
  char* end = nullptr;
  *value = std::strtoull(at + strlen(key), &end, 16);
  return end != at + strlen(key);
}

// Has every other thread run DropThisThread(). Returns whether every other thread now shows empty
// effective and permitted sets (the kernel's own account, per thread) and the calling one an empty
// effective set and a permitted set within self_permitted.
bool DropOtherThreads(uint64_t self_permitted) {
  const pid_t self = static_cast<pid_t>(syscall(SYS_gettid));
  const pid_t pid = getpid();
  // A real-time signal nobody handles. The handler stays installed afterwards: a late delivery
  // only repeats a harmless drop, where restoring SIG_DFL would make it kill the process.
  int sig = -1;
  for (int s = SIGRTMAX - 1; s > SIGRTMIN + 2; s--) {
    struct sigaction cur;
    if (sigaction(s, nullptr, &cur) != 0) continue;
    if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == OnDropSignal) {
      sig = s;  // installed by an earlier call
      break;
    }
    if (sig < 0 && !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL) sig = s;
  }
  if (sig < 0) return false;
  struct sigaction act;
  std::memset(&act, 0, sizeof act);
  act.sa_handler = OnDropSignal;
  act.sa_flags = SA_RESTART;
  sigfillset(&act.sa_mask);
  if (sigaction(sig, &act, nullptr) != 0) return false;

  std::set<pid_t> done{self};
  // Threads may be born while we work: repeat until a pass finds none new (a thread inherits its
  // creator's sets, so one created by an already-dropped thread is clean anyway).
  for (int pass = 0; pass < 8; pass++) {
    int sent = 0;
    __atomic_store_n(&g_acks, 0, __ATOMIC_SEQ_CST);
    for (pid_t tid : ThreadIds()) {
      if (done.count(tid) != 0) continue;
      done.insert(tid);
      uint64_t blocked = 0;
      // A thread that blocks the signal would never answer: leave it (it shows up below).
      if (!TaskField(tid, "SigBlk", &blocked) || (blocked & (1ULL << (sig - 1))) != 0) continue;
      if (syscall(SYS_tgkill, pid, tid, sig) == 0) sent++;
    }
    if (sent == 0) break;
    for (int i = 0; i < 1000 && __atomic_load_n(&g_acks, __ATOMIC_SEQ_CST) < sent; i++) {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, nullptr);
    }
  }

  bool ok = true;
  for (pid_t tid : ThreadIds()) {
    uint64_t eff = 0, prm = 0;
    if (!TaskField(tid, "CapEff", &eff) || !TaskField(tid, "CapPrm", &prm)) continue;  // gone
    const uint64_t allowed = tid == self ? self_permitted : 0;
    if (eff != 0 || (prm & ~allowed) != 0) ok = false;
  }
  return ok;
}

// The calling thread's three sets (capget/capset, pid 0 = this thread).
struct CapSets {
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
};

bool GetCaps(CapSets* caps) {
  struct __user_cap_header_struct header;
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  std::memset(caps->data, 0, sizeof caps->data);
  return syscall(SYS_capget, &header, caps->data) == 0;
}

int SetCaps(const CapSets& caps) {
  struct __user_cap_header_struct header;
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  return syscall(SYS_capset, &header, caps.data) == 0 ? 0 : errno;
}

// CAP_NET_ADMIN (12) lives in the first 32-bit word.
constexpr uint32_t kNetAdminBit = 1U << CAP_NET_ADMIN;
static_assert(CAP_NET_ADMIN < 32, "CAP_NET_ADMIN is expected in the first capability word");

bool NetAdminPermitted() {
  CapSets caps;
  return GetCaps(&caps) && (caps.data[0].permitted & kNetAdminBit) != 0;
}

bool CapsAllClear() {
  CapSets caps;
  if (!GetCaps(&caps)) return false;
  for (const auto& d : caps.data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;
}

}  // namespace

DropOutcome DropPrivileges(const DropRequest& req) {
  DropOutcome out;

  // Keeping CAP_NET_ADMIN only makes sense while staying who we are: a uid switch away from root
  // empties the sets anyway (KEEPCAPS off). And capset can only keep what is permitted now.
  const bool switching = geteuid() == 0 && (req.has_uid || req.has_gid);
  const bool keep = req.keep_net_admin && !switching && NetAdminPermitted();

  // The bounding set needs CAP_SETPCAP, so it goes first. Stops at the first capability
  // number the kernel does not know (EINVAL).
  out.bounding_cleared = true;
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // past CAP_LAST_CAP
    if (keep && cap == CAP_NET_ADMIN) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      out.bounding_cleared = false;
      break;
    }
  }
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

  // A uid change away from 0 with KEEPCAPS off also empties permitted/effective on every thread.
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
    out.result = Fail(errno, "prctl");
  }

  // With CAP_NET_ADMIN kept, an execve as root would otherwise hand a child program a full
  // permitted/effective set of it (root's file capabilities, cut down only by the bounding set and,
  // under no_new_privs, the old permitted set). SECBIT_NOROOT turns that off; locked, for good.
  // Needs CAP_SETPCAP, still effective here.
  // (Already so when the launcher started us.)
  const int noroot = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED;
  if (out.result.ok() && keep && (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & noroot) != noroot &&
      prctl(PR_SET_SECUREBITS, noroot, 0, 0, 0) != 0) {
    out.result = Fail(errno, "prctl");
  }

  if (out.result.ok() && switching) {
    // glibc applies these to every thread of the process.
    if (setgroups(0, nullptr) != 0) {
      out.result = Fail(errno, "setgroups");
    } else if (req.has_gid && setgid(req.gid) != 0) {
      out.result = Fail(errno, "setgid");
    } else if (req.has_uid && setuid(req.uid) != 0) {
      out.result = Fail(errno, "setuid");
    } else {
      out.switched = true;
    }
  }

  if (out.result.ok()) {
    CapSets caps;
    std::memset(caps.data, 0, sizeof caps.data);
    if (keep) caps.data[0].permitted = kNetAdminBit;  // permitted only: raised per SO_MARK (NetAdminRaise)
    const int err = SetCaps(caps);
    if (err != 0) out.result = Fail(err, "capset");
  }

  if (out.result.ok()) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      out.result = Fail(errno, "prctl");
    } else {
      out.no_new_privs = true;
    }
  }

  out.kept_net_admin = out.result.ok() && keep && NetAdminPermitted();
  if (out.result.ok()) out.all_threads = DropOtherThreads(out.kept_net_admin ? kNetAdminBit : 0);
  out.caps_cleared = CapsAllClear();
  out.uid = getuid();
  out.gid = getgid();
  return out;
}

NetAdminRaise::NetAdminRaise() {
  CapSets caps;
  if (!GetCaps(&caps)) return;
  if ((caps.data[0].permitted & kNetAdminBit) == 0 || (caps.data[0].effective & kNetAdminBit) != 0) return;
  for (size_t i = 0; i < 2; i++) {
    effective_[i] = caps.data[i].effective;
    permitted_[i] = caps.data[i].permitted;
    inheritable_[i] = caps.data[i].inheritable;
  }
  caps.data[0].effective |= kNetAdminBit;
  raised_ = SetCaps(caps) == 0;
}

NetAdminRaise::~NetAdminRaise() {
  if (!raised_) return;
  CapSets caps;
  for (size_t i = 0; i < 2; i++) {
    caps.data[i].effective = effective_[i];
    caps.data[i].permitted = permitted_[i];
    caps.data[i].inheritable = inheritable_[i];
  }
  // Lowering the effective set to a subset of the permitted one cannot be refused.
  (void)SetCaps(caps);
}

namespace {

struct Inherited {
  int family;
  int protocol;
  int fd;
};

std::mutex g_inherited_mutex;
bool g_inherited_parsed = false;
std::vector<Inherited> g_inherited;  // process-wide by nature: the fds belong to the process

bool SockOpt(int fd, int name, int* value) {
  socklen_t len = sizeof *value;
  return getsockopt(fd, SOL_SOCKET, name, value, &len) == 0 && len == sizeof *value;
}

// Whether fd is a raw socket of this family and protocol (the kernel's word, not the variable's).
bool IsRawSocket(int fd, int family, int protocol) {
  int type = 0, domain = 0, proto = 0;
  return SockOpt(fd, SO_TYPE, &type) && type == SOCK_RAW && SockOpt(fd, SO_DOMAIN, &domain) && domain == family &&
         SockOpt(fd, SO_PROTOCOL, &proto) && proto == protocol;
}

void ParseInherited() {
  g_inherited_parsed = true;
  const char* spec = getenv("MTR_PACKET_TS_FDS");
  if (spec == nullptr) return;
  const char* p = spec;
  while (*p != 0) {
    char* end = nullptr;
    long v[3];
    bool ok = true;
    for (int i = 0; i < 3 && ok; i++) {
      v[i] = std::strtol(p, &end, 10);
      ok = end != p && v[i] >= 0 && v[i] <= 65535 && (i == 2 || *end == ':');
      p = *end == ':' ? end + 1 : end;
    }
    if (ok && IsRawSocket(static_cast<int>(v[2]), static_cast<int>(v[0]), static_cast<int>(v[1]))) {
      const int fd = static_cast<int>(v[2]);
      (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
      (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      g_inherited.push_back(Inherited{static_cast<int>(v[0]), static_cast<int>(v[1]), fd});
    }
    while (*p != 0 && *p != ',') p++;
    if (*p == ',') p++;
  }
}

}  // namespace

int TakeInheritedRaw(int family, int protocol) {
  std::lock_guard<std::mutex> lock(g_inherited_mutex);
  if (!g_inherited_parsed) ParseInherited();
  for (size_t i = 0; i < g_inherited.size(); i++) {
    if (g_inherited[i].family != family || g_inherited[i].protocol != protocol) continue;
    const int fd = g_inherited[i].fd;
    g_inherited.erase(g_inherited.begin() + static_cast<long>(i));
    return fd;
  }
  return -1;
}

int OpenRawOrInherited(int family, int protocol) {
  const int fd = TakeInheritedRaw(family, protocol);
  return fd >= 0 ? fd : OpenRaw(family, protocol);
}

namespace {

std::mutex g_helper_mutex;  // one exchange at a time (workers may set marks too)
bool g_helper_parsed = false;
int g_helper_fd = -1;

void ParseHelper() {
  g_helper_parsed = true;
  const char* spec = getenv("MTR_PACKET_TS_MARK_FD");
  if (spec == nullptr) return;
  char* end = nullptr;
  const long fd = std::strtol(spec, &end, 10);
  if (end == spec || *end != 0 || fd < 3 || fd > 65535) return;
  int type = 0, domain = 0;
  if (!SockOpt(static_cast<int>(fd), SO_TYPE, &type) || type != SOCK_SEQPACKET ||
      !SockOpt(static_cast<int>(fd), SO_DOMAIN, &domain) || domain != AF_UNIX)
    return;
  (void)fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  g_helper_fd = static_cast<int>(fd);
}

}  // namespace

bool SetMarkByHelper(int fd, uint32_t mark, int* err) {
  std::lock_guard<std::mutex> lock(g_helper_mutex);
  if (!g_helper_parsed) ParseHelper();
  if (g_helper_fd < 0) return false;
  struct iovec iov;
  iov.iov_base = &mark;
  iov.iov_len = sizeof mark;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof control);
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do {
    n = sendmsg(g_helper_fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  int32_t answer = EPERM;
  if (n == static_cast<ssize_t>(sizeof mark)) {
    do {
      n = recv(g_helper_fd, &answer, sizeof answer, 0);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof answer)) answer = EPERM;
  }
  *err = answer;
  return true;
}

}  // namespace mtr
