// Kernel receive timestamps of TCP resets. A TCP probe refused by its destination (RST) learns of
// it through connect()'s error, which carries no timestamp: the wake-up of the event loop would be
// all there is, hundreds of µs late. A raw IPPROTO_TCP socket per family, with a classic BPF filter
// that keeps only RSTs to ports in the probes' range and SO_TIMESTAMPNS, receives the same segment
// with the kernel's stamp (raw delivery comes before TCP's own): a refusal is timed as closely to
// the wire as an ICMP answer. Opened with the other raw sockets (needs CAP_NET_RAW); without it the
// wake-up time stays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "batch.h"
#include "sockets.h"

namespace mtr {

class RstStamps {
 public:
  // Lowest local port a probe uses (the probes' sequence space): RSTs to lower ports are filtered out.
  static constexpr uint16_t kMinPort = 33434;
  // Lowest local port a TCP flow can leave from (protocol: local-port's floor).
  static constexpr uint16_t kMinFlowPort = 1024;
  // How much of a segment a sink gets: the IPv4 header (if any) and the TCP header, options included.
  static constexpr size_t kSegmentBytes = 128;

  ~RstStamps() { Close(); }
  // Opens and filters the receive socket of family (AF_INET or AF_INET6).
  SysResult Open(int family);
  void Close();
  bool any_open() const { return fd4_ >= 0 || fd6_ >= 0; }
  // Reads every queued RST into the table (bounded: the oldest go first).
  void Drain();
  // The kernel's receive stamp (CLOCK_REALTIME ns) of a RST from dst:dst_port to local_port taken
  // no earlier than not_before_ns, after a Drain(); 0 when there is none. A found entry is used up.
  int64_t Take(int family, const uint8_t* dst, uint16_t dst_port, uint16_t local_port, int64_t not_before_ns);

  // Flows: keeps SYN-ACKs too, and RSTs and SYN-ACKs to ports kMinFlowPort and up, on every open socket.
  SysResult WidenFilter();
  // Where every segment read goes from now on (nullptr: nowhere), rx stamps relative to epoch_ns.
  void set_sink(Batch* sink, int64_t epoch_ns) {
    sink_ = sink;
    epoch_ns_ = epoch_ns;
  }
  Batch* sink() const { return sink_; }
  int fd(int family) const;
  // Reads one family's socket (as Drain does for both).
  void DrainFamily(int family);

 private:
  struct Entry {
    int family;
    uint8_t from[16];
    uint16_t from_port;
    uint16_t to_port;
    int64_t ns;
  };
  static constexpr size_t kMaxEntries = 1024;
  void DrainOne(int fd, int family);
  int fd4_ = -1;
  int fd6_ = -1;
  bool wide_ = false;
  Batch* sink_ = nullptr;
  int64_t epoch_ns_ = 0;
  std::deque<Entry> entries_;
};

}  // namespace mtr
