/*
 * mtr-packet-launch: the one file of mtr-packet-ts that may be given privilege (root through sudo,
 * setuid root, or file capabilities such as cap_net_raw). Single-threaded C, so what it drops is
 * dropped for good before any other code exists:
 *
 *   1. opens the raw sockets of the table below (nothing else needs privilege),
 *   2. started through sudo (or setuid root), switches to the invoking user; its real gid stays the
 *      user's, its effective/saved gid become an unrelated one (also when given file capabilities:
 *      that takes CAP_SETGID), so the exec'd process is neither ptrace-able nor dumpable by that
 *      user, who could otherwise take the raw sockets with pidfd_getfd or inject code,
 *   3. drops every capability (effective, permitted, inheritable, ambient, bounding set); where it
 *      held CAP_NET_ADMIN, no uid switch happens and --no-mark was not given, a forked helper keeps
 *      that one, to set SO_MARK on the sockets the daemon hands it (the daemon holds none),
 *   4. sets no_new_privs, and a seccomp filter that refuses listen(2): nothing in the daemon listens,
 *      so Node's inspector (SIGUSR1) can never open a port,
 *   5. execs the Node recorded at build time, by absolute path, on the daemon script recorded at build
 *      time, with an environment of its own (no NODE_OPTIONS, LD_*, OPENSSL_CONF or anything else of
 *      the caller's) and the sockets inherited; MTR_PACKET_TS_FDS names them
 *      ("family:protocol:fd,..."), and the addon adopts them instead of opening its own.
 *
 * Without privilege it opens nothing and execs the daemon the same way, which then runs on
 * datagram (ping/UDP) sockets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher-config.h" /* MTR_NODE_PATH, MTR_DAEMON_SCRIPT: written by scripts/build-addon.mjs */

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* The raw sockets the daemon uses, in the order the engine opens them (it adopts by family and
 * protocol, first come first served). Add a row for a new raw socket; mark it optional when the
 * daemon can live without it. */
struct raw_socket {
  int family;
  int protocol;
  int optional;
};
static const struct raw_socket kSockets[] = {
    {AF_INET, IPPROTO_ICMP, 0},    /* IPv4 receive: ICMP answers */
    {AF_INET, IPPROTO_RAW, 0},     /* IPv4 send: header-including */
    {AF_INET, IPPROTO_TCP, 1},     /* IPv4 receive: RSTs, for kernel-timed TCP refusals */
    {AF_INET6, IPPROTO_ICMPV6, 0}, /* IPv6 receive */
    {AF_INET6, IPPROTO_ICMPV6, 0}, /* IPv6 send, one per probe protocol */
    {AF_INET6, IPPROTO_UDP, 0},
    {AF_INET6, IPPROTO_TCP, 0},
    {AF_INET6, IPPROTO_SCTP, 1},
    {AF_INET6, IPPROTO_TCP, 1},    /* IPv6 receive: RSTs (after the TCP send socket) */
};
#define SOCKET_COUNT (sizeof kSockets / sizeof kSockets[0])

/* Node itself needs a few dozen descriptors (event loops, worker threads, pipes): below this it
 * aborts or crashes at start, so the launcher says so instead. */
#define MIN_FILES 32

/* An effective/saved gid nobody logs in with: the daemon's real gid stays the user's. */
#define DETACHED_GID 65534
#define DETACHED_GID_ALT 65533

static void die(const char *what, int err) {
  if (err != 0)
    fprintf(stderr, "mtr-packet-ts: %s: %s\n", what, strerror(err));
  else
    fprintf(stderr, "mtr-packet-ts: %s\n", what);
  exit(1);
}

static int get_caps(struct __user_cap_data_struct data[2]) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  memset(data, 0, 2 * sizeof data[0]);
  return (int)syscall(SYS_capget, &header, data);
}

static int set_caps(const struct __user_cap_data_struct data[2]) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  return (int)syscall(SYS_capset, &header, data);
}

static int cap_permitted(int cap) {
  struct __user_cap_data_struct data[2];
  if (get_caps(data) != 0) return 0;
  return (data[cap / 32].permitted & (1U << (cap % 32))) != 0;
}

static int any_cap_permitted(void) {
  struct __user_cap_data_struct data[2];
  if (get_caps(data) != 0) return 1; /* cannot tell: treat as privileged (the strict path) */
  return data[0].permitted != 0 || data[1].permitted != 0;
}

/* A uid/gid of up to 10 digits, no sign, no junk. */
static int parse_id(const char *s, unsigned long *out) {
  if (s == NULL || *s == '\0' || strlen(s) > 10) return 0;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return 0;
  unsigned long v = strtoul(s, NULL, 10);
  if (v >= 4294967295UL) return 0;
  *out = v;
  return 1;
}

/* listen(2) -> EPERM for this architecture's native syscalls; everything else allowed. */
static int refuse_listen(void) {
#if defined(__x86_64__)
  const uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  const uint32_t arch = AUDIT_ARCH_AARCH64;
#elif defined(__i386__)
  const uint32_t arch = AUDIT_ARCH_I386;
#elif defined(__arm__)
  const uint32_t arch = AUDIT_ARCH_ARM;
#elif defined(__riscv) && __riscv_xlen == 64
  const uint32_t arch = AUDIT_ARCH_RISCV64;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint32_t arch = AUDIT_ARCH_PPC64LE;
#elif defined(__s390x__)
  const uint32_t arch = AUDIT_ARCH_S390X;
#else
  return ENOSYS;
#endif
#ifndef __NR_listen
  return ENOSYS; /* socketcall-only ABI */
#else
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_listen, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog fprog = {(unsigned short)(sizeof prog / sizeof prog[0]), prog};
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) return errno;
  return 0;
#endif
}

static int has_arg(int argc, char **argv, const char *arg) {
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], arg) == 0) return 1;
  return 0;
}

/* The mark helper: a child of the launcher that keeps CAP_NET_ADMIN, and nothing else, so the
 * daemon itself holds no capability at all. Over a SOCK_SEQPACKET pair the daemon sends a socket
 * (SCM_RIGHTS) and a 4-byte mark; the helper sets SO_MARK on it and answers a 4-byte errno. That is
 * all a daemon gone wrong could make it do: mark its own sockets. It ends when the daemon does. */
static void mark_helper(int sock) {
  for (;;) {
    uint32_t mark = 0;
    struct iovec iov = {&mark, sizeof mark};
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    const ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0); /* the daemon is gone */
    int fd = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
    int32_t err = EINVAL;
    if (fd >= 0 && n == (ssize_t)sizeof mark && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0)
      err = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0 ? 0 : errno;
    if (fd >= 0) close(fd);
    if (send(sock, &err, sizeof err, MSG_NOSIGNAL) != (ssize_t)sizeof err) _exit(0);
  }
}

/* Forks the mark helper; returns the daemon's end of the pair (inherited over exec), or -1. */
static int start_mark_helper(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  if (pid == 0) {
    /* Only its end of the pair stays open: no raw socket, no stdio of the caller's. */
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(1);
    if (dup2(sv[1], 3) < 0) _exit(1);
    if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0)
      for (int fd = 4; fd < 65536; fd++) close(fd);
    struct __user_cap_data_struct caps[2];
    memset(caps, 0, sizeof caps);
    caps[0].effective = caps[0].permitted = 1U << CAP_NET_ADMIN;
    if (set_caps(caps) != 0) _exit(1);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(1);
    (void)prctl(PR_SET_NAME, "mtr-packet-mark", 0, 0, 0);
    mark_helper(3);
    _exit(0);
  }
  close(sv[1]);
  const int flags = fcntl(sv[0], F_GETFD);
  if (flags < 0 || fcntl(sv[0], F_SETFD, flags & ~FD_CLOEXEC) != 0) {
    close(sv[0]);
    return -1;
  }
  return sv[0];
}

int main(int argc, char **argv) {
  /* Standard descriptors the caller left closed get /dev/null, so no raw socket lands on 0, 1 or 2. */
  for (int fd = 0; fd < 3; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int null = open("/dev/null", O_RDWR);
      if (null != fd) return 1;
    }
  }
  const uid_t ruid = getuid(), euid = geteuid();
  const gid_t rgid = getgid();
  /* AT_SECURE: started setuid/setgid or with file capabilities. */
  const int privileged = getauxval(AT_SECURE) != 0 || euid == 0 || ruid == 0 || any_cap_permitted();

  if (privileged) {
    for (int i = 1; i < argc; i++) {
      if (strncmp(argv[i], "--inspect", 9) == 0 || strncmp(argv[i], "--debug", 7) == 0) {
        fprintf(stderr, "mtr-packet-ts: %s is refused in a privileged start\n", argv[i]);
        return 2;
      }
    }
  }
  /* The exec'd daemon must not be ptrace-able by the user who started it (pidfd_getfd would hand
   * them the raw sockets). Root keeps them from everyone anyway; otherwise it takes a detached gid,
   * which needs CAP_SETGID (a switch from root has it). A launcher given cap_net_raw alone would
   * give any user raw sockets: it opens none then, and says why. */
  const int can_detach = euid == 0 || cap_permitted(CAP_SETGID);
  int want_raw = !has_arg(argc, argv, "--unprivileged") && !has_arg(argc, argv, "--help") &&
                 !has_arg(argc, argv, "--version");
  if (want_raw && !can_detach && cap_permitted(CAP_NET_RAW)) {
    fprintf(stderr,
            "mtr-packet-ts: the launcher has CAP_NET_RAW but not CAP_SETGID, which it needs to keep its raw "
            "sockets from the user: using datagram sockets (setcap cap_net_raw,cap_setgid+ep on the launcher)\n");
    want_raw = 0;
  }

  /* The soft fd limit up to the hard one (the engine does the same); too few is said plainly. */
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      (void)setrlimit(RLIMIT_NOFILE, &files);
      (void)getrlimit(RLIMIT_NOFILE, &files);
    }
    if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < MIN_FILES) {
      fprintf(stderr,
              "mtr-packet-ts: the open-file limit is %llu (RLIMIT_NOFILE); it needs at least %d: raise it (ulimit -n)\n",
              (unsigned long long)files.rlim_cur, MIN_FILES);
      return 1;
    }
  }

  /* 1. The sockets. Without CLOEXEC: they are meant for the exec'd daemon. */
  char fds_env[40 + SOCKET_COUNT * 24] = "MTR_PACKET_TS_FDS=";
  if (want_raw) {
    size_t used = strlen(fds_env);
    for (size_t i = 0; i < SOCKET_COUNT; i++) {
      const int fd = socket(kSockets[i].family, SOCK_RAW, kSockets[i].protocol);
      if (fd < 0) continue; /* no right (or no such protocol): the daemon falls back or says why */
      used += (size_t)snprintf(fds_env + used, sizeof fds_env - used, "%s%d:%d:%d", used == 18 ? "" : ",",
                               kSockets[i].family, kSockets[i].protocol, fd);
    }
  }

  /* 2. Who to be. Through sudo: SUDO_UID/SUDO_GID; setuid root: the real ids. */
  int switching = 0;
  unsigned long to_uid = 0, to_gid = 0;
  if (euid == 0 && ruid == 0) {
    if (parse_id(getenv("SUDO_UID"), &to_uid) && to_uid != 0) {
      switching = 1;
      if (!parse_id(getenv("SUDO_GID"), &to_gid)) to_gid = to_uid;
    }
  } else if (euid == 0 && ruid != 0) {
    switching = 1;
    to_uid = ruid;
    to_gid = rgid;
  }
  const int keep_net_admin = !switching && !has_arg(argc, argv, "--no-mark") && cap_permitted(CAP_NET_ADMIN);

  /* 3. Bounding set first (it needs CAP_SETPCAP), then ambient. Without CAP_SETPCAP (a launcher
   * given only cap_net_raw) the bounding set cannot shrink; no_new_privs below still stops any
   * exec from gaining a capability. */
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;
    if (keep_net_admin && cap == CAP_NET_ADMIN) continue;
    (void)prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (cap_permitted(CAP_SETPCAP)) {
    /* root gains nothing at exec by being root; locked for good */
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) != 0)
      die("prctl(PR_SET_SECUREBITS)", errno);
  }

  /* Marks: a helper keeps CAP_NET_ADMIN (see mark_helper); then the bounding set loses it too. */
  int mark_fd = keep_net_admin ? start_mark_helper() : -1;
  if (keep_net_admin) (void)prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0);

  /* The detached gid trick needs CAP_SETGID: root has it; a launcher given cap_setgid too. */
  if (switching || cap_permitted(CAP_SETGID)) {
    const gid_t real = switching ? (gid_t)to_gid : rgid;
    const gid_t detached = real == DETACHED_GID ? DETACHED_GID_ALT : DETACHED_GID;
    if (setgroups(0, NULL) != 0) die("setgroups", errno);
    if (setresgid(real, detached, detached) != 0) die("setresgid", errno);
  }
  if (switching) {
    if (setresuid((uid_t)to_uid, (uid_t)to_uid, (uid_t)to_uid) != 0) die("setresuid", errno);
    if (getuid() != (uid_t)to_uid || geteuid() != (uid_t)to_uid) die("uid switch did not happen", 0);
  }

  struct __user_cap_data_struct caps[2];
  memset(caps, 0, sizeof caps);
  if (set_caps(caps) != 0) die("capset", errno);

  /* 4. For good. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  const int sec = refuse_listen();
  if (sec != 0 && sec != ENOSYS) die("seccomp", sec);

  /* 5. A fresh environment: nothing of the caller's reaches Node, but the protocol dialect mtr
   * asks for (MTR_PACKET_TS_DIALECT), and only as a short string of digits and dots, which the
   * daemon checks against the dialects it knows (refusing any other at start). */
  char *envp[5];
  char mark_env[48];
  char dialect_env[48];
  size_t n = 0;
  envp[n++] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  if (strlen(fds_env) > 18) envp[n++] = fds_env;
  if (mark_fd >= 0) {
    snprintf(mark_env, sizeof mark_env, "MTR_PACKET_TS_MARK_FD=%d", mark_fd);
    envp[n++] = mark_env;
  }
  const char *dialect = getenv("MTR_PACKET_TS_DIALECT");
  if (dialect != NULL && dialect[0] != 0 && strlen(dialect) <= 15 && strspn(dialect, "0123456789.") == strlen(dialect)) {
    snprintf(dialect_env, sizeof dialect_env, "MTR_PACKET_TS_DIALECT=%s", dialect);
    envp[n++] = dialect_env;
  }
  envp[n] = NULL;

  char **args = calloc((size_t)argc + 6, sizeof(char *));
  if (args == NULL) die("out of memory", 0);
  size_t a = 0;
  args[a++] = (char *)MTR_NODE_PATH;
  /* The daemon's live heap is a few MB even with 16,384 probes in flight: small heap limits keep V8
   * from growing it (and the RSS) over a long run instead of collecting. */
  args[a++] = (char *)"--max-semi-space-size=1";
  args[a++] = (char *)"--max-old-space-size=64";
  /* No V8 helper threads (concurrent GC and compilation): the daemon is one event loop, and each
   * helper's stack and malloc arena cost about 3 MB of RSS in a flood for no gain in CPU. */
  args[a++] = (char *)"--single-threaded";
  args[a++] = (char *)MTR_DAEMON_SCRIPT;
  for (int i = 1; i < argc; i++) args[a++] = argv[i];
  args[a] = NULL;
  execve(MTR_NODE_PATH, args, envp);
  fprintf(stderr, "mtr-packet-ts: cannot run Node (%s): %s\n", MTR_NODE_PATH, strerror(errno));
  return 127;
}
