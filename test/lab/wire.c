/*
 * wire: a transparent two-port Ethernet "cable" that adds delay and loss.
 *
 * Part of the mtr-packet-ts network-namespace lab (test/lab).  The kernel the
 * lab runs on has no netem qdisc, so link impairment is done here in user
 * space: the process sits in a namespace holding two veth ends (A and B) whose
 * peers live in two lab nodes, reads every frame arriving on one end with an
 * AF_PACKET socket and writes it out of the other end once its delay is up.
 * Frames of every kind pass (IPv4, IPv6, ARP, NDP), so the two nodes are plain
 * L2 neighbours.
 *
 * Guarantees:
 *  - FIFO per direction: a frame is never sent before one that arrived earlier
 *    in the same direction, even when the delay is lowered at run time.
 *  - Timing: arrival is the kernel's receive timestamp (SO_TIMESTAMPNS, mapped
 *    onto CLOCK_MONOTONIC), so a late wake-up of this process does not lengthen
 *    the delay; the departure is driven by an absolute CLOCK_MONOTONIC timerfd
 *    with 1 ns timer slack, and the last stretch (< SPIN_NS) is spun, so jitter
 *    stays in the tens of microseconds on an idle machine.
 *  - Offloads: PACKET_VNET_HDR on both sockets carries checksum-offload and
 *    GSO metadata across, so CHECKSUM_PARTIAL / TSO frames stay valid.
 *  - Loss is random per frame (xorshift64*, seedable) and never applies to ARP
 *    or ICMPv6 neighbour discovery (types 133-137), so neighbour resolution
 *    cannot turn one configured loss into extra unexplained loss.
 *  - Lifetime: exits on stdin EOF, on SIGTERM/SIGINT, and (PR_SET_PDEATHSIG)
 *    when its parent dies.
 *
 * Usage: wire IF_A IF_B [--delay-ab US] [--delay-ba US] [--loss-ab PCT]
 *             [--loss-ba PCT] [--seed N] [--queue N] [--rt]
 *   "ab" is the direction from IF_A to IF_B.
 * Prints "ready\n" once both sockets are bound.
 * stdin commands (one per line):
 *   set ab|ba <delay_us> <loss_pct>   change one direction
 *   stats                             print "stats" then, for ab and for ba:
 *                                     rx tx lost drop late_max_ns late_sum_ns rx_age_max_ns
 *   stats reset                       the same, then start the two maxima afresh (a test's own window)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define VNET_LEN ((int)sizeof(struct virtio_net_hdr))
#define MAX_FRAME (65536 + 64)
#define SPIN_NS 60000 /* busy-wait the final 60 us before a departure */

typedef struct {
  uint64_t due_ns;
  uint32_t len;
  unsigned char data[]; /* vnet header + frame */
} pkt_t;

typedef struct {
  const char *name;     /* "ab" or "ba" */
  int rx_fd, tx_fd;
  uint64_t delay_ns;
  uint64_t loss_thresh; /* drop when rand < loss_thresh (out of 2^64) */
  pkt_t **ring;
  uint32_t cap, head, count;
  uint64_t last_due;
  uint64_t rx, tx, lost, drop;
  uint64_t late_max_ns, late_sum_ns; /* departure lateness vs. due time */
  uint64_t rx_age_max_ns;             /* worst delay between kernel arrival and our read */
} dir_t;

static volatile sig_atomic_t stop_flag = 0;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static uint64_t rng_next(void) {
  uint64_t x = rng_state;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  rng_state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t pct_to_thresh(double pct) {
  if (pct <= 0) return 0;
  if (pct >= 100) return UINT64_MAX;
  return (uint64_t)((pct / 100.0) * 18446744073709551615.0);
}

static void die(const char *what) {
  fprintf(stderr, "wire: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int open_port(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) die("PACKET_VNET_HDR");
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) die("PACKET_IGNORE_OUTGOING");
  /* Kernel receive timestamps: the delay counts from the frame's arrival, not from our (maybe late) wake-up. */
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) die("SO_TIMESTAMPNS");
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf);
  unsigned idx = if_nametoindex(ifname);
  if (!idx) { fprintf(stderr, "wire: no interface %s\n", ifname); exit(2); }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = (int)idx;
  mr.mr_type = PACKET_MR_PROMISC;
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) die("PACKET_MR_PROMISC");
  /* Drain anything that queued between socket() and bind(). */
  unsigned char tmp[2048];
  while (recv(fd, tmp, sizeof tmp, MSG_DONTWAIT) > 0) {}
  return fd;
}

/* ARP, and ICMPv6 router/neighbour discovery, are never subject to loss. */
static int is_neighbour_discovery(const unsigned char *f, uint32_t len) {
  if (len < 14) return 1;
  uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
  if (et == ETH_P_ARP) return 1;
  if (et == ETH_P_IPV6 && len >= 14 + 40 + 1 && f[14 + 6] == 58) {
    uint8_t type = f[14 + 40];
    return type >= 133 && type <= 137;
  }
  return 0;
}

static void dir_init(dir_t *d, const char *name, int rx, int tx, uint32_t cap) {
  memset(d, 0, sizeof *d);
  d->name = name; d->rx_fd = rx; d->tx_fd = tx; d->cap = cap;
  d->ring = calloc(cap, sizeof(pkt_t *));
  if (!d->ring) die("calloc");
}

static unsigned char rxbuf[VNET_LEN + MAX_FRAME];

static void dir_receive(dir_t *d) {
  for (;;) {
    struct iovec iov = { .iov_base = rxbuf, .iov_len = sizeof rxbuf };
    union { char buf[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } ctl;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    ssize_t n = recvmsg(d->rx_fd, &msg, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      die("recv");
    }
    /* Arrival on the monotonic clock: now minus the age given by the kernel's (realtime) receive stamp. */
    uint64_t t = now_ns();
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        uint64_t stamp = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        uint64_t real = real_ns();
        if (stamp <= real && real - stamp < 1000000000ULL) {
          uint64_t age = real - stamp;
          t -= age;
          if (age > d->rx_age_max_ns) d->rx_age_max_ns = age;
        }
      }
    }
    if (n <= VNET_LEN) continue;
    d->rx++;
    if (d->loss_thresh && !is_neighbour_discovery(rxbuf + VNET_LEN, (uint32_t)(n - VNET_LEN)) &&
        (d->loss_thresh == UINT64_MAX || rng_next() < d->loss_thresh)) {
      d->lost++;
      continue;
    }
    if (d->count == d->cap) { d->drop++; continue; }
    pkt_t *p = malloc(sizeof(pkt_t) + (size_t)n);
    if (!p) { d->drop++; continue; }
    uint64_t due = t + d->delay_ns;
    if (due < d->last_due) due = d->last_due; /* never overtake an earlier frame */
    d->last_due = due;
    p->due_ns = due;
    p->len = (uint32_t)n;
    memcpy(p->data, rxbuf, (size_t)n);
    d->ring[(d->head + d->count) % d->cap] = p;
    d->count++;
  }
}

static void dir_send_due(dir_t *d, uint64_t now) {
  while (d->count) {
    pkt_t *p = d->ring[d->head];
    if (p->due_ns > now) return;
    for (;;) {
      ssize_t w = send(d->tx_fd, p->data, p->len, 0);
      if (w >= 0) {
        uint64_t late = now_ns() - p->due_ns;
        d->tx++;
        d->late_sum_ns += late;
        if (late > d->late_max_ns) d->late_max_ns = late;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        struct pollfd pf = { .fd = d->tx_fd, .events = POLLOUT };
        poll(&pf, 1, 1);
        continue;
      }
      /* EMSGSIZE, ENETDOWN, ...: count as dropped, keep going */
      d->drop++;
      break;
    }
    free(p);
    d->ring[d->head] = NULL;
    d->head = (d->head + 1) % d->cap;
    d->count--;
  }
}

static uint64_t dir_next_due(const dir_t *d) {
  return d->count ? d->ring[d->head]->due_ns : UINT64_MAX;
}

static void handle_command(char *line, dir_t *ab, dir_t *ba) {
  char which[8];
  double us, pct;
  if (sscanf(line, "set %7s %lf %lf", which, &us, &pct) == 3) {
    dir_t *d = strcmp(which, "ab") == 0 ? ab : strcmp(which, "ba") == 0 ? ba : NULL;
    if (!d || us < 0 || pct < 0 || pct > 100) { printf("error bad set\n"); fflush(stdout); return; }
    d->delay_ns = (uint64_t)(us * 1000.0);
    d->loss_thresh = pct_to_thresh(pct);
    printf("ok\n");
  } else if (strncmp(line, "stats", 5) == 0) {
    printf("stats");
    for (const dir_t *d = ab; d; d = d == ab ? ba : NULL)
      printf(" %llu %llu %llu %llu %llu %llu %llu", (unsigned long long)d->rx, (unsigned long long)d->tx,
             (unsigned long long)d->lost, (unsigned long long)d->drop,
             (unsigned long long)d->late_max_ns, (unsigned long long)d->late_sum_ns,
             (unsigned long long)d->rx_age_max_ns);
    printf("\n");
    if (strncmp(line, "stats reset", 11) == 0) {
      ab->late_max_ns = ab->rx_age_max_ns = 0;
      ba->late_max_ns = ba->rx_age_max_ns = 0;
    }
  } else {
    printf("error unknown command\n");
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: wire IF_A IF_B [--delay-ab US] [--delay-ba US] [--loss-ab PCT] [--loss-ba PCT] [--seed N] [--queue N] [--rt]\n");
    return 2;
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0; /* parent already gone */
  prctl(PR_SET_TIMERSLACK, 1UL);
  double delay_ab = 0, delay_ba = 0, loss_ab = 0, loss_ba = 0;
  uint32_t cap = 16384;
  int rt = 0;
  for (int i = 3; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--rt")) { rt = 1; continue; }
    if (!v) { fprintf(stderr, "wire: %s needs a value\n", a); return 2; }
    if (!strcmp(a, "--delay-ab")) delay_ab = atof(v);
    else if (!strcmp(a, "--delay-ba")) delay_ba = atof(v);
    else if (!strcmp(a, "--loss-ab")) loss_ab = atof(v);
    else if (!strcmp(a, "--loss-ba")) loss_ba = atof(v);
    else if (!strcmp(a, "--seed")) rng_state = strtoull(v, NULL, 0) * 0x9e3779b97f4a7c15ULL | 1;
    else if (!strcmp(a, "--queue")) cap = (uint32_t)strtoul(v, NULL, 0);
    else { fprintf(stderr, "wire: unknown option %s\n", a); return 2; }
    i++;
  }
  if (cap < 16) cap = 16;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (rt) {
    struct sched_param sp = { .sched_priority = 10 };
    sched_setscheduler(0, SCHED_FIFO, &sp); /* best effort */
  }

  int fa = open_port(argv[1]);
  int fb = open_port(argv[2]);
  dir_t ab, ba;
  dir_init(&ab, "ab", fa, fb, cap);
  dir_init(&ba, "ba", fb, fa, cap);
  ab.delay_ns = (uint64_t)(delay_ab * 1000.0);
  ba.delay_ns = (uint64_t)(delay_ba * 1000.0);
  ab.loss_thresh = pct_to_thresh(loss_ab);
  ba.loss_thresh = pct_to_thresh(loss_ba);

  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) die("timerfd_create");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN; ev.data.u32 = 0; epoll_ctl(ep, EPOLL_CTL_ADD, fa, &ev);
  ev.events = EPOLLIN; ev.data.u32 = 1; epoll_ctl(ep, EPOLL_CTL_ADD, fb, &ev);
  ev.events = EPOLLIN; ev.data.u32 = 2; epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  int stdin_open = 1;
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  ev.events = EPOLLIN; ev.data.u32 = 3;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0) stdin_open = 0; /* e.g. /dev/null: rely on pdeathsig */

  printf("ready\n");
  fflush(stdout);

  char cmdbuf[4096];
  size_t cmdlen = 0;
  uint64_t armed = 0;
  while (!stop_flag) {
    uint64_t next = dir_next_due(&ab);
    uint64_t nb = dir_next_due(&ba);
    if (nb < next) next = nb;
    int timeout = -1;
    if (next != UINT64_MAX) {
      uint64_t now = now_ns();
      if (next <= now + SPIN_NS) {
        /* Close enough: spin (while still draining input) until due. */
        timeout = 0;
      } else if (armed != next - SPIN_NS) {
        armed = next - SPIN_NS;
        struct itimerspec its;
        memset(&its, 0, sizeof its);
        its.it_value.tv_sec = (time_t)(armed / 1000000000ULL);
        its.it_value.tv_nsec = (long)(armed % 1000000000ULL);
        timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
      }
    }
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      switch (evs[i].data.u32) {
      case 0: dir_receive(&ab); break;
      case 1: dir_receive(&ba); break;
      case 2: { uint64_t exp; while (read(tfd, &exp, sizeof exp) > 0) {} armed = 0; break; }
      case 3: {
        for (;;) {
          ssize_t r = read(0, cmdbuf + cmdlen, sizeof cmdbuf - 1 - cmdlen);
          if (r == 0) { stop_flag = 1; break; }
          if (r < 0) { if (errno == EINTR) continue; if (errno != EAGAIN) stop_flag = 1; break; }
          cmdlen += (size_t)r;
          char *nl;
          while ((nl = memchr(cmdbuf, '\n', cmdlen)) != NULL) {
            *nl = 0;
            handle_command(cmdbuf, &ab, &ba);
            size_t used = (size_t)(nl - cmdbuf) + 1;
            memmove(cmdbuf, nl + 1, cmdlen - used);
            cmdlen -= used;
          }
          if (cmdlen == sizeof cmdbuf - 1) cmdlen = 0; /* garbage line: discard */
        }
        break;
      }
      }
    }
    (void)stdin_open;
    uint64_t now = now_ns();
    dir_send_due(&ab, now);
    dir_send_due(&ba, now);
  }
  return 0;
}
