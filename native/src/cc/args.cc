#include "args.h"

namespace mtr {

bool GetBytes(const Napi::Value& v, const uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  *data = u.Data();
  *len = u.ByteLength();
  return true;
}

bool GetUint32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

bool GetByteOrDefault(const Napi::Value& v, int* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -1 && d <= 255) || d != static_cast<double>(static_cast<int>(d))) return false;
  *out = static_cast<int>(d);
  return true;
}

bool GetDevice(const Napi::Value& v, std::string* out) {
  if (v.IsUndefined() || v.IsNull()) {
    out->clear();
    return true;
  }
  if (!v.IsString()) return false;
  *out = v.As<Napi::String>().Utf8Value();
  return out->size() < 16;  // IFNAMSIZ incl. NUL
}

}  // namespace mtr
