// What the row kernels (readRows in rows.cc, takeRows in select.cc) share: the per-column output
// they fill (host-endian values, bytes 0/1 for bools and validity, UTF-8 + int32 offsets for
// strings), the column set-up, one text cell appended, and the hand-over to JS (native/index.ts
// rowsToTable assembles the Arrow batch).
#pragma once

#include "plan.h"

namespace cdx {

struct RowsOut {
  std::vector<uint8_t> values;   // numeric: n * width host-endian; bool: n bytes 0/1; strings: utf8 bytes
  std::vector<int32_t> offsets;  // strings: n + 1
  std::vector<uint8_t> valid;    // n bytes 0/1
  bool anyNull = false;
  bool isStr = false;

  // n rows of `col`, all valid until told otherwise
  void Init(const Column& col, uint64_t n) {
    valid.assign(n, 1);
    isStr = col.IsString();
    const int w = col.kind == Kind::NUMERIC ? DTypeSize(col.dtype) : 1;
    if (!isStr) values.assign(n * w, 0);
    else offsets.assign(n + 1, 0);
  }

  enum class Text { OK, CORRUPT, TOO_LARGE };
  // Output row i of a string / dictionary column: the text at chunk row `local` of `v` (a null
  // dictionary entry makes the row null).
  Text AppendText(const Column& col, const View& v, uint64_t local, StringColumnReader& dict, uint64_t i) {
    const uint8_t* p = nullptr;
    uint64_t len = 0;
    if (valid[i]) {
      if (col.kind == Kind::DICT) {
        const int64_t di = DictIndex(v, local);
        if (di < 0 || !dict.Get(static_cast<uint64_t>(di), &p, &len)) return Text::CORRUPT;
        if (!p) { valid[i] = 0; anyNull = true; }
      } else if (!StringAt(v, local, &p, &len)) {
        return Text::CORRUPT;
      }
    }
    if (p) values.insert(values.end(), p, p + len);
    if (values.size() > 0x7fffffffULL) return Text::TOO_LARGE;
    offsets[i + 1] = static_cast<int32_t>(values.size());
    return Text::OK;
  }
};

// Columns of one file share its mapping; each is checked against the file before any read.
inline Status PrepareRowColumns(std::vector<ColumnPtr>& cols) {
  for (size_t i = 0; i < cols.size(); i++) {
    for (size_t j = 0; j < i && !cols[i]->file.file; j++)
      if (cols[j]->file.file && cols[j]->file.path == cols[i]->file.path) cols[i]->file.file = cols[j]->file.file;
    Status st = cols[i]->Validate();
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// The columns argument (an array of column descriptors) of readRows / takeRows.
inline bool ParseRowColumns(const Napi::Array& a, std::vector<ColumnPtr>* cols, Status* st) {
  for (uint32_t i = 0; i < a.Length(); i++) {
    ColumnPtr c;
    if (!ParseColumn(a.Get(i), &c, st)) return false;
    cols->push_back(c);
  }
  return true;
}

// The outcome of a row read that did not fail otherwise: a fault in the mapping (the file shrank)
// or corrupt string offsets / dictionary indices.
inline Status RowsReadStatus(bool mappedOk, bool corrupt, const std::vector<ColumnPtr>& cols, Status st) {
  if (!mappedOk) return Status::Error("E_TRUNCATED", cols[0]->file.path + " was truncated while being read");
  if (corrupt) return Status::Error("E_CORRUPT", "corrupt string offsets or dictionary indices in " + cols[0]->file.path);
  return st;
}

// [{ values: ArrayBuffer, offsets?: Int32Array, valid?: Uint8Array }, …] (copies)
inline Napi::Array RowsToJs(Napi::Env env, const std::vector<RowsOut>& out) {
  Napi::Array a = Napi::Array::New(env, out.size());
  for (size_t c = 0; c < out.size(); c++) {
    const RowsOut& o = out[c];
    Napi::Object e = Napi::Object::New(env);
    auto vals = Napi::ArrayBuffer::New(env, o.values.size());
    if (!o.values.empty()) std::memcpy(vals.Data(), o.values.data(), o.values.size());
    e.Set("values", vals);
    if (o.isStr) {
      auto off = Napi::Int32Array::New(env, o.offsets.size());
      std::memcpy(off.Data(), o.offsets.data(), o.offsets.size() * 4);
      e.Set("offsets", off);
    }
    if (o.anyNull) {
      auto v = Napi::Uint8Array::New(env, o.valid.size());
      std::memcpy(v.Data(), o.valid.data(), o.valid.size());
      e.Set("valid", v);
    }
    a.Set(static_cast<uint32_t>(c), e);
  }
  return a;
}

}  // namespace cdx
