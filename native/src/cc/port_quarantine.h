// Source ports of finished TCP probes, kept taken for a while: a late answer for a probe (a router's
// ICMP error quoting its port, a RST) must not find another probe on that port, ours or another
// process's. The probe's own socket is kept open, disconnected but still bound (an explicit bind
// keeps its port through a disconnect), until its quarantine ends; bind() elsewhere then fails
// with EADDRINUSE and the prober takes another port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

namespace mtr {

class PortQuarantine {
 public:
  // Takes fd (a TCP probe socket, its connect finished or abandoned): aborts any connection
  // (RST when connected, as the probe's close always did) and keeps the fd until until_ns. When
  // that cannot be done, or more than `limit` are held, the oldest held go at once.
  void Hold(int fd, int64_t until_ns);
  // Closes every socket whose quarantine has ended.
  void Expire(int64_t now_ns);
  void CloseAll();
  size_t size() const { return held_.size(); }
  void set_limit(size_t limit) { limit_ = limit; }

 private:
  using Entry = std::pair<int64_t, int>;  // until_ns, fd
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> held_;
  size_t limit_ = 4096;
};

}  // namespace mtr
