// Thrift compact protocol, write side only: just what a Parquet writer needs for PageHeader and
// FileMetaData (structs, i16/i32/i64 zigzag varints, binary, bool fields, lists). Field ids are
// written as deltas from the previous field of the same struct (the common short form), so fields
// of one struct must be written in increasing id order; nested structs keep their own "last id".
// Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cdx {
namespace pq {

enum TType : uint8_t { T_TRUE = 1, T_FALSE = 2, T_BYTE = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7, T_BINARY = 8, T_LIST = 9, T_STRUCT = 12 };

class ThriftWriter {
 public:
  explicit ThriftWriter(std::vector<uint8_t>* out) : out_(out) { last_.push_back(0); }

  void I32(int16_t id, int32_t v) { Field(id, T_I32); Zigzag(v); }
  void I64(int16_t id, int64_t v) { Field(id, T_I64); Zigzag(v); }
  void I16(int16_t id, int16_t v) { Field(id, T_I16); Zigzag(v); }
  void I8(int16_t id, int8_t v) { Field(id, T_BYTE); out_->push_back(static_cast<uint8_t>(v)); }
  void Bool(int16_t id, bool v) { Field(id, v ? T_TRUE : T_FALSE); }
  void Binary(int16_t id, const std::string& s) { Field(id, T_BINARY); Bytes(s); }
  // struct field: BeginStruct(id) ... EndStruct()
  void BeginStruct(int16_t id) { Field(id, T_STRUCT); last_.push_back(0); }
  void EndStruct() { out_->push_back(0); last_.pop_back(); }
  // list field header; then the elements: ListI32Item / ListBinaryItem / BeginListStruct..EndStruct
  void BeginList(int16_t id, TType elem, size_t n) {
    Field(id, T_LIST);
    if (n < 15) out_->push_back(static_cast<uint8_t>((n << 4) | elem));
    else { out_->push_back(static_cast<uint8_t>(0xf0 | elem)); Varint(n); }
  }
  void ListI32Item(int32_t v) { Zigzag(v); }
  void ListBinaryItem(const std::string& s) { Bytes(s); }
  void BeginListStruct() { last_.push_back(0); }
  // the top-level struct (FileMetaData, PageHeader) ends with EndTop()
  void EndTop() { out_->push_back(0); }

 private:
  void Field(int16_t id, TType t) {
    int16_t& last = last_.back();
    const int d = id - last;
    if (d > 0 && d <= 15) out_->push_back(static_cast<uint8_t>((d << 4) | t));
    else { out_->push_back(t); Zigzag(id); }
    last = id;
  }
  void Varint(uint64_t v) {
    while (v >= 0x80) { out_->push_back(static_cast<uint8_t>(v | 0x80)); v >>= 7; }
    out_->push_back(static_cast<uint8_t>(v));
  }
  void Zigzag(int64_t v) { Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Bytes(const std::string& s) {
    Varint(s.size());
    out_->insert(out_->end(), s.begin(), s.end());
  }
  std::vector<uint8_t>* out_;
  std::vector<int16_t> last_;
};

}  // namespace pq
}  // namespace cdx
