// Column descriptors: chunk fields, validation against the file size, chunk views and decoding
// helpers shared by the kernels (no Node-API here: columns_js.cc reads a descriptor from JS).
#include "columns.h"

#include <algorithm>

namespace cdx {

Status Column::SetChunks(const double* fields, size_t n) {
  chunks.assign(n, Chunk{});
  uint64_t row = 0;
  for (size_t i = 0; i < n; i++) {
    const double* f = fields + i * 8;
    for (int k = 0; k < 8; k++) {
      // only the validity offset (3) and the null count (7) may be -1 ("none", "unknown"): a -1
      // elsewhere converted to uint64_t is undefined (found by native/fuzz/columns_fuzz.cc)
      const double lo = k == 3 || k == 7 ? -1 : 0;
      if (!(f[k] >= lo && f[k] <= 9007199254740992.0) || f[k] != std::floor(f[k]))
        return Status::Error("E_BAD_ARG", "column " + name + ": bad chunk field");
    }
    Chunk& k = chunks[i];
    k.rows = static_cast<uint64_t>(f[0]);
    k.rowStart = row;
    k.dataOff = static_cast<uint64_t>(f[1]);
    k.dataLen = static_cast<uint64_t>(f[2]);
    k.validityOff = static_cast<int64_t>(f[3]);
    k.validityBit = static_cast<uint64_t>(f[4]);
    k.offsetsOff = static_cast<uint64_t>(f[5]);
    k.offsetsLen = static_cast<uint64_t>(f[6]);
    k.nullCount = static_cast<int64_t>(f[7]);
    if (k.nullCount == 0) k.validityOff = -1;  // Arrow may omit or include an all-valid bitmap
    row += k.rows;
  }
  rows = row;
  return Status::Ok();
}

ComputedHooks& computedHooks() {
  static ComputedHooks h;
  return h;
}

Status Column::Validate() {
  if (comp) {
    if (!computedHooks().validate) return Status::Error("E_INTERNAL", "computed column " + name + ": no evaluator in this build");
    return computedHooks().validate(*this);
  }
  Status st = file.Resolve();
  if (!st.ok()) return st;
  const MappedFile& f = *file.file;
  const std::string what = "column " + name + " of " + f.path();
  const uint64_t now = f.CurrentSize();
  auto check = [&](uint64_t off, uint64_t len, const char* part) -> Status {
    if (off > f.size() || len > f.size() - off)
      return Status::Error("E_OUT_OF_RANGE", what + ": " + part + " [" + std::to_string(off) + ", +" + std::to_string(len) +
                                                 ") lies past the end of the file (" + std::to_string(f.size()) + " bytes)");
    if (off + len > now)
      return Status::Error("E_TRUNCATED", f.path() + " was truncated to " + std::to_string(now) + " bytes while open");
    return Status::Ok();
  };
  const int w = DTypeSize(dtype);
  for (const Chunk& k : chunks) {
    if (k.rows > (1ULL << 50)) return Status::Error("E_OUT_OF_RANGE", what + ": implausible row count");
    if (k.validityOff >= 0) {
      st = check(static_cast<uint64_t>(k.validityOff), (k.validityBit + k.rows + 7) / 8, "validity bitmap");
      if (!st.ok()) return st;
    }
    switch (kind) {
      case Kind::NUMERIC:
      case Kind::DICT:
        if (k.dataLen < k.rows * w) return Status::Error("E_OUT_OF_RANGE", what + ": data buffer shorter than its rows");
        st = check(k.dataOff, k.rows * w, "data");
        break;
      case Kind::BOOL:
        if (k.dataLen * 8 < k.rows) return Status::Error("E_OUT_OF_RANGE", what + ": bool buffer shorter than its rows");
        st = check(k.dataOff, (k.rows + 7) / 8, "data");
        break;
      case Kind::UTF8:
      case Kind::LARGE_UTF8: {
        const uint64_t ow = kind == Kind::UTF8 ? 4 : 8;
        if (k.offsetsLen < (k.rows + 1) * ow && k.rows > 0) return Status::Error("E_OUT_OF_RANGE", what + ": offsets buffer shorter than its rows");
        if (k.rows > 0) st = check(k.offsetsOff, (k.rows + 1) * ow, "offsets");
        if (st.ok()) st = check(k.dataOff, k.dataLen, "string data");
        break;
      }
    }
    if (!st.ok()) return st;
  }
  if (dict) {
    // Dictionaries share the file handle when they name the same file.
    if (!dict->file.file && dict->file.path == file.path) dict->file.file = file.file;
    st = dict->Validate();
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

size_t Column::ChunkOf(uint64_t r) const {
  size_t lo = 0, hi = chunks.size();
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (chunks[mid].rowStart <= r) lo = mid; else hi = mid;
  }
  // skip empty chunks
  while (lo + 1 < chunks.size() && chunks[lo].rowStart + chunks[lo].rows <= r) lo++;
  return lo;
}

void View::Bind(const Column& c, size_t i) {
  col = &c;
  chunk = &c.chunks[i];
  if (c.comp) {
    computedHooks().eval(c, i, this);  // (set whenever a column can be computed: expr.cc)
    return;
  }
  own.reset();
  dataLen = chunk->dataLen;
  // Pointers only to buffers Validate() checked: the string offsets of a column of another kind
  // (or of an empty chunk) are never checked, and an empty file has no mapping (base is null);
  // adding such an offset to base is undefined (found by native/fuzz/columns_fuzz.cc).
  const uint8_t* base = c.file.file->data();
  auto at = [base](uint64_t off) -> const uint8_t* { return base ? base + off : nullptr; };
  data = at(chunk->dataOff);
  validity = chunk->validityOff >= 0 ? at(static_cast<uint64_t>(chunk->validityOff)) : nullptr;
  vbit = chunk->validityBit;
  const bool strings = c.kind == Kind::UTF8 || c.kind == Kind::LARGE_UTF8;
  offsets = strings && chunk->rows > 0 ? at(chunk->offsetsOff) : nullptr;
  rowStart = chunk->rowStart;
}

bool ValidityBytes(const View& v, uint64_t local, uint32_t n, uint8_t* out) {
  if (!v.validity) return false;
  uint64_t b = v.vbit + local;
  uint32_t i = 0;
  // head until byte-aligned
  for (; i < n && (b & 7); i++, b++) out[i] = (v.validity[b >> 3] >> (b & 7)) & 1;
  for (; i + 8 <= n; i += 8, b += 8) {
    uint8_t byte = v.validity[b >> 3];
    for (int k = 0; k < 8; k++) out[i + k] = (byte >> k) & 1;
  }
  for (; i < n; i++, b++) out[i] = (v.validity[b >> 3] >> (b & 7)) & 1;
  return true;
}

template <class T, class O, bool Swap>
static void DecodeT(const uint8_t* p, uint32_t n, O* out) {
  for (uint32_t i = 0; i < n; i++) out[i] = static_cast<O>(Load<T, Swap>(p + static_cast<uint64_t>(i) * sizeof(T)));
}

template <class O>
static void DecodeAny(const View& v, uint64_t local, uint32_t n, O* out) {
  const Column& c = *v.col;
  if (c.kind == Kind::BOOL) {
    for (uint32_t i = 0; i < n; i++) {
      uint64_t b = local + i;
      out[i] = static_cast<O>((v.data[b >> 3] >> (b & 7)) & 1);
    }
    return;
  }
  DispatchNumeric(c.dtype, [&](auto tag) {
    using T = decltype(tag);
    const uint8_t* p = v.data + local * sizeof(T);
    if (c.swap) DecodeT<T, O, true>(p, n, out);
    else DecodeT<T, O, false>(p, n, out);
  });
}

void DecodeF64(const View& v, uint64_t local, uint32_t n, double* out) { DecodeAny<double>(v, local, n, out); }
void DecodeI64(const View& v, uint64_t local, uint32_t n, int64_t* out) {
  if (v.col->kind != Kind::BOOL && IsFloat(v.col->dtype)) { std::memset(out, 0, n * sizeof(int64_t)); return; }
  DecodeAny<int64_t>(v, local, n, out);
}
void DecodeLD(const View& v, uint64_t local, uint32_t n, long double* out) { DecodeAny<long double>(v, local, n, out); }

int64_t DictIndex(const View& v, uint64_t local) {
  const Column& c = *v.col;
  int64_t r = -1;
  DispatchNumeric(c.dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const uint8_t* p = v.data + local * sizeof(T);
      T x = c.swap ? Load<T, true>(p) : Load<T, false>(p);
      r = static_cast<int64_t>(x);
      if constexpr (std::is_same_v<T, uint64_t>) if (x > (1ULL << 62)) r = -1;
    }
  });
  return r;
}

bool StringAt(const View& v, uint64_t local, const uint8_t** p, uint64_t* len) {
  const Column& c = *v.col;
  uint64_t o0, o1;
  if (c.kind == Kind::UTF8) {
    int32_t a = c.swap ? Load<int32_t, true>(v.offsets + local * 4) : Load<int32_t, false>(v.offsets + local * 4);
    int32_t b = c.swap ? Load<int32_t, true>(v.offsets + local * 4 + 4) : Load<int32_t, false>(v.offsets + local * 4 + 4);
    if (a < 0 || b < a) return false;
    o0 = static_cast<uint64_t>(a); o1 = static_cast<uint64_t>(b);
  } else {
    int64_t a = c.swap ? Load<int64_t, true>(v.offsets + local * 8) : Load<int64_t, false>(v.offsets + local * 8);
    int64_t b = c.swap ? Load<int64_t, true>(v.offsets + local * 8 + 8) : Load<int64_t, false>(v.offsets + local * 8 + 8);
    if (a < 0 || b < a) return false;
    o0 = static_cast<uint64_t>(a); o1 = static_cast<uint64_t>(b);
  }
  if (o1 > v.dataLen) return false;
  *p = v.data + o0;
  *len = o1 - o0;
  return true;
}

void StringColumnReader::Bind(const Column& c) {
  col = &c;
  views.resize(c.chunks.size());
  for (size_t i = 0; i < c.chunks.size(); i++) views[i].Bind(c, i);
}

bool StringColumnReader::Get(uint64_t row, const uint8_t** p, uint64_t* len) const {
  if (row >= col->rows) return false;
  size_t k = col->ChunkOf(row);
  const View& v = views[k];
  if (!v.Valid(row - v.rowStart)) { *p = nullptr; *len = 0; return true; }
  return StringAt(v, row - v.rowStart, p, len);
}

std::vector<Segment> MakeSegments(const std::vector<const Column*>& cols, uint64_t rows, uint64_t morselRows) {
  std::vector<uint64_t> cuts{0, rows};
  for (const Column* c : cols)
    for (const Chunk& k : c->chunks)
      if (k.rowStart < rows) cuts.push_back(k.rowStart);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<Segment> segs;
  std::vector<size_t> idx(cols.size(), 0);
  for (size_t i = 0; i + 1 < cuts.size(); i++) {
    const uint64_t a = cuts[i], b = cuts[i + 1];
    std::vector<uint32_t> ci(cols.size());
    for (size_t c = 0; c < cols.size(); c++) ci[c] = static_cast<uint32_t>(cols[c]->ChunkOf(a));
    for (uint64_t r = a; r < b; r += morselRows) segs.push_back(Segment{r, std::min(b, r + morselRows), ci});
  }
  return segs;
}

uint64_t HashBytes(const uint8_t* p, uint64_t n) {
  uint64_t h = 0x243f6a8885a308d3ULL ^ (n * 0x9e3779b97f4a7c15ULL);
  while (n >= 8) {
    uint64_t w; std::memcpy(&w, p, 8);
    h = Mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    p += 8; n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return Mix64(h ^ w ^ (n << 56));
}

}  // namespace cdx
