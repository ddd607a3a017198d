// Argument parsing for the Engine's JS-facing methods: each reads one JS value into a C++ one and
// says whether it had the right shape. Nothing throws; the caller throws one TypeError with its usage.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace mtr {

// A Uint8Array (a view on its bytes, valid while the value is).
bool GetBytes(const Napi::Value& v, const uint8_t** data, size_t* len);
// An integer in 0..2^32-1.
bool GetUint32(const Napi::Value& v, uint32_t* out);
// An IPv6 hop limit or traffic class: 0..255, or -1 for the kernel's default (as the socket options take it).
bool GetByteOrDefault(const Napi::Value& v, int* out);
// An interface name (shorter than IFNAMSIZ); undefined or null: none ("").
bool GetDevice(const Napi::Value& v, std::string* out);

}  // namespace mtr
