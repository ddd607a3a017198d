#include "batch.h"

#include <sys/socket.h>

#include <limits>

namespace mtr {

namespace {
constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();
}

void Batch::Clear() {
  bytes_.clear();
  meta_.clear();
  ext_.clear();
  has_ext_ = false;
  count_ = 0;
}

double Batch::AddBytes(const uint8_t* p, size_t n) {
  const size_t off = bytes_.size();
  if (n > 0) bytes_.insert(bytes_.end(), p, p + n);
  return static_cast<double>(off);
}

double* Batch::Append(int family, const uint8_t* from, const uint8_t* data, size_t len, double rx_ns) {
  const double from_off = AddBytes(from, family == AF_INET ? 4 : 16);
  const double data_off = AddBytes(data, len);
  const size_t m = meta_.size();
  meta_.resize(m + kMetaPerPacket);
  meta_[m + meta_slot::kFamily] = family == AF_INET ? 4 : 6;
  meta_[m + meta_slot::kFromOffset] = from_off;
  meta_[m + meta_slot::kDataOffset] = data_off;
  meta_[m + meta_slot::kDataLength] = static_cast<double>(len);
  meta_[m + meta_slot::kRxNs] = rx_ns;
  meta_[m + meta_slot::kHopLimit] = -1;
  ext_.resize(ext_.size() + kExtPerPacket, kAbsent);
  double* e = &ext_[ext_.size() - kExtPerPacket];
  e[ext_slot::kSource] = static_cast<double>(Source::kRaw);
  count_++;
  return e;
}

void Batch::Add(int family, const uint8_t* from, const uint8_t* data, size_t len, double rx_ns) {
  Append(family, from, data, len, rx_ns);
}

Batch::Ext Batch::AddWithExt(Source source, int family, const uint8_t* from, const uint8_t* data, size_t len,
                             double rx_ns) {
  Ext e(Append(family, from, data, len, rx_ns));
  e.source(source);
  has_ext_ = true;
  return e;
}

}  // namespace mtr
