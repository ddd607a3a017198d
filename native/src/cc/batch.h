// One batch for JS, and its layout. JS gets an ArrayBuffer of bytes (addresses and packet data), a
// Float64Array `meta` of kMetaPerPacket numbers per packet, and, when the batch holds anything but
// raw packets, a Float64Array `ext` of kExtPerPacket numbers per packet (NaN: absent).
// native/src/batch.ts reads the same slots (META, EXT, SOURCES); the addon exports this layout as
// `batchLayout` and native/test/batch-layout.test.ts checks that the two agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mtr {

namespace meta_slot {
// kHopLimit: the TTL / hop limit a packet arrived with, where its socket said (IPv6 raw, datagram
// echo replies); -1 otherwise (a raw IPv4 packet has its own header).
enum : size_t { kFamily = 0, kFromOffset, kDataOffset, kDataLength, kRxNs, kHopLimit, kCount };
}
namespace ext_slot {
enum : size_t {
  kSource = 0,
  kIcmpType,
  kIcmpCode,
  kErrProto,
  kOrigDstPort,
  kOrigSrcPort,
  kTcpId,
  kTcpErrno,
  kOrigDstOffset,
  kTxId,
  kCount
};
}
// ext[kSource]
// kSegment: a TCP segment (SYN-ACK, RST) answering a raw TCP flow probe (engine_rawtcp.cc)
enum class Source : int { kRaw = 0, kPing, kError, kTcp, kTx, kSegment, kCount };

constexpr size_t kMetaPerPacket = meta_slot::kCount;
constexpr size_t kExtPerPacket = ext_slot::kCount;

// The other direction: a send batch (Engine.sendBatch), the raw sends of one command slice. JS
// gives the packets' bytes (packets, destination and source addresses), a Float64Array of
// send_slot::kCount numbers per send, and a Float64Array for send_result::kCount numbers per send,
// which the addon fills. native/src/send-batch.ts writes and reads the same slots (SEND,
// SEND_RESULT); the addon exports them in `batchLayout` too.
namespace send_slot {
enum : size_t {
  kFamily = 0,     // 4 or 6
  kProto,          // IPv6: the transport protocol (58, 17, 6, 132); IPv4: 0 (the packet has its header)
  kDataOffset,
  kDataLength,
  kDstOffset,      // 4 or 16 bytes
  kSrcOffset,      // IPv6: 16 bytes, or -1 for the kernel's choice
  kHopLimit,       // IPv6: -1..255
  kTrafficClass,   // IPv6: -1..255
  kMark,
  kTxId,           // -1: no transmit stamp wanted
  kScopeId,        // IPv6
  kDontFragment,   // IPv6: 1 for IPV6_DONTFRAG (IPv4 has DF in its own header), else 0
  kCount
};
}
namespace send_result {
enum : size_t { kDeparture = 0, kErrno, kCount };  // kErrno 0: sent, departure is its pre-send clock
}

class Batch {
 public:
  // A packet's ext slots, written by name.
  class Ext {
   public:
    explicit Ext(double* e) : e_(e) {}
    Ext& source(Source s) { return set(ext_slot::kSource, static_cast<double>(s)); }
    Ext& icmp_type(double v) { return set(ext_slot::kIcmpType, v); }
    Ext& icmp_code(double v) { return set(ext_slot::kIcmpCode, v); }
    Ext& err_proto(double v) { return set(ext_slot::kErrProto, v); }
    Ext& orig_dst_port(double v) { return set(ext_slot::kOrigDstPort, v); }
    Ext& orig_src_port(double v) { return set(ext_slot::kOrigSrcPort, v); }
    Ext& tcp_id(double v) { return set(ext_slot::kTcpId, v); }
    Ext& tcp_errno(double v) { return set(ext_slot::kTcpErrno, v); }
    Ext& orig_dst_offset(double v) { return set(ext_slot::kOrigDstOffset, v); }
    Ext& tx_id(double v) { return set(ext_slot::kTxId, v); }

   private:
    Ext& set(size_t slot, double v) {
      e_[slot] = v;
      return *this;
    }
    double* e_;
  };

  void Clear();
  // Appends a packet whose source is raw (its ext slots absent).
  void Add(int family, const uint8_t* from, const uint8_t* data, size_t len, double rx_ns);
  // Appends a packet of another source: the batch will carry ext; returns the packet's ext slots.
  Ext AddWithExt(Source source, int family, const uint8_t* from, const uint8_t* data, size_t len, double rx_ns);
  // Sets the last packet's meta_slot::kHopLimit (it starts at -1).
  void SetHopLimit(int hop_limit) { meta_[meta_.size() - kMetaPerPacket + meta_slot::kHopLimit] = hop_limit; }
  // Appends bytes to the buffer; returns their offset.
  double AddBytes(const uint8_t* p, size_t n);

  size_t count() const { return count_; }
  bool has_ext() const { return has_ext_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  const std::vector<double>& meta() const { return meta_; }
  const std::vector<double>& ext() const { return ext_; }

 private:
  double* Append(int family, const uint8_t* from, const uint8_t* data, size_t len, double rx_ns);

  std::vector<uint8_t> bytes_;
  std::vector<double> meta_;
  std::vector<double> ext_;
  bool has_ext_ = false;
  size_t count_ = 0;
};

}  // namespace mtr
