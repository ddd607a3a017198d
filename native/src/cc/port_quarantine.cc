#include "port_quarantine.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "probe_sockets.h"

namespace mtr {

void PortQuarantine::Hold(int fd, int64_t until_ns) {
  if (fd < 0) return;
  // connect(AF_UNSPEC) disconnects: a connected socket sends RST (no TIME_WAIT), one still in
  // SYN_SENT sends nothing; either way it ends in CLOSE, its bound port kept.
  struct sockaddr unspec;
  std::memset(&unspec, 0, sizeof unspec);
  unspec.sa_family = AF_UNSPEC;
  if (limit_ == 0 || connect(fd, &unspec, sizeof unspec) != 0) {
    AbortClose(fd);
    return;
  }
  held_.emplace(until_ns, fd);
  while (held_.size() > limit_) {
    AbortClose(held_.top().second);
    held_.pop();
  }
}

void PortQuarantine::Expire(int64_t now_ns) {
  while (!held_.empty() && held_.top().first <= now_ns) {
    AbortClose(held_.top().second);
    held_.pop();
  }
}

void PortQuarantine::CloseAll() {
  while (!held_.empty()) {
    AbortClose(held_.top().second);
    held_.pop();
  }
}

}  // namespace mtr
