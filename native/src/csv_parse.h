// CSV parse engine shared by the streaming parser (csv.cc: csvOpen / csvFeed, bytes fed from JS)
// and the direct ingest (csv_ingest.cc: csvIngest, file mapped and Arrow IPC written natively).
//
// ParseCore::ParseBuffer parses every complete row of one buffer that starts at a row start outside
// quotes (see csv_core.h for the quote-parity design) into per-piece column buffers, re-parsing with
// widened types when a value does not fit; AssembleRange then lays a row range of those pieces out
// as Arrow buffers (validity bitmap, values / bit-packed bools / int32 offsets + UTF-8 bytes) at
// caller-chosen destinations, so the ingest can build a record batch body in place. No Node-API
// here (the fuzz harness builds it alone): csv_js.h holds the JS side shared by csv.cc and
// csv_ingest.cc.
#pragma once

#include "csv_core.h"

#include "core.h"

#include <atomic>

namespace cdx {
namespace csvp {

using csv::CType;
using csv::Dialect;
using csv::FieldRef;
using csv::Fields;

// A growable byte buffer that is not zero-filled and keeps its pages between feeds.
struct RawBuf {
  std::unique_ptr<uint8_t[]> p;
  size_t cap = 0, len = 0;
  uint8_t* Ensure(size_t n) {
    if (n > cap) { p.reset(new uint8_t[n]); cap = n; }
    len = n;
    return p.get();
  }
  uint8_t* Zeroed(size_t n) {
    Ensure(n);
    if (n) std::memset(p.get(), 0, n);
    return p.get();
  }
};

struct Parser {
  std::string path;
  Dialect d;
  uint32_t ncols = 0;
  bool infer = false;
  bool skipFirst = false;     // parse: drop the header row
  bool captureFirst = false;  // infer: return the first row separately (header detection)
  bool strict = false;
  bool cp1252 = false;
  uint64_t maxRowBytes = 512ull << 20;
  // Pieces a buffer is cut into: 0 = one below 1 MiB, else 4 per thread. The fuzz harness forces a
  // count so that the split at quote-parity boundaries is exercised on small inputs.
  uint32_t splitPieces = 0;
  std::vector<CType> types;
  // date / timestamp columns: the orders their values may be read in (csv::ORD_*; infer: the AND
  // over the values seen; parse: the column is read in PreferredOrder and narrowed when a value
  // needs another order of the mask)
  std::vector<uint8_t> ords;
  // parse: a forced column keeps its type; a value that does not convert is null and counted
  std::vector<uint8_t> forced;
  std::vector<uint64_t> nulls;
  uint64_t line = 1;  // line number of the first carry byte
  uint64_t rows = 0, badRows = 0;
  RawBuf buf;                    // carry + current chunk (reused between feeds)
  size_t carryOff = 0, carryLen = 0;  // the incomplete tail kept for the next feed
  std::atomic<bool> busy{false};
  bool finished = false;
  std::shared_ptr<void> pieces;  // std::vector<Piece>, reused between feeds
  std::shared_ptr<void> out;     // std::vector<OutCol>, reused between feeds
};
using ParserPtr = std::shared_ptr<Parser>;

struct BadRow {
  uint64_t line;   // local (piece-relative) until fixed up
  int64_t fields;  // -1: unterminated quoted field
};

// A value of a forced column that did not convert (the first few per column are kept).
struct Unconverted {
  uint32_t col;
  uint64_t row;    // 0-based data row; local (piece-relative) until fixed up
  uint64_t line;   // local until fixed up
  std::string text;
};
constexpr size_t kUnconvertedSamples = 5;

// The string bytes of a piece: a bump buffer that keeps 8 bytes of slack past its end (word reads
// of the last value stay inside it) and is never zero-filled.
struct Arena {
  std::unique_ptr<char[]> p;
  size_t len = 0, cap = 0;
  void clear() { len = 0; }
  size_t size() const { return len; }
  bool empty() const { return len == 0; }
  const char* data() const { return p.get(); }
  void reserve(size_t n) { if (n + 8 > cap) Grow(n + 8); }
  char* Extend(size_t n) {
    if (len + n + 8 > cap) Grow(len + n + 8);
    char* d = p.get() + len;
    len += n;
    return d;
  }
  void append(const char* s, size_t n) { if (n) std::memcpy(Extend(n), s, n); }
  void Grow(size_t need) {
    const size_t nc = std::max(need, cap * 2);
    std::unique_ptr<char[]> q(new char[nc]);
    if (len) std::memcpy(q.get(), p.get(), len);
    p = std::move(q);
    cap = nc;
  }
};

// Buffers are kept by the parser and reused from feed to feed (no page faults on fresh memory).
struct PieceCol {
  std::unique_ptr<uint8_t[]> valid;  // byte per row (1 = valid)
  std::unique_ptr<uint8_t[]> fixed;  // 8/4/1 bytes per row (room for 8)
  std::unique_ptr<uint32_t[]> offs;  // string end offsets (rows entries)
  uint64_t cap = 0, capOffs = 0;
  Arena chars;
  uint64_t nulls = 0;
};

struct Piece {
  const char* begin = nullptr;
  const char* end = nullptr;
  uint64_t rows = 0, lines = 0;
  std::vector<BadRow> bad;
  uint64_t badCount = 0;
  std::vector<CType> seen;      // infer: join of classes; parse: widening target (NUL = none)
  std::vector<uint8_t> ords;    // date orders: infer: AND over the values; parse: narrowing target
  std::vector<uint64_t> unconv; // parse, forced columns: values that did not convert
  std::vector<Unconverted> unconvSamples;
  std::vector<uint64_t> widenLine;
  std::vector<uint64_t> nulls;
  std::vector<PieceCol> cols;
  bool failed = false;          // an exception inside the piece (bad_alloc, ...)
};

struct OutCol {
  CType type = CType::STRING;
  uint64_t nulls = 0;
  RawBuf validity;  // len 0 when no nulls
  RawBuf data;
  RawBuf offsets;   // int32, rows + 1 entries (strings)
};

inline int FixedWidth(CType t) {
  switch (t) {
    case CType::INT64: case CType::FLOAT64: case CType::TIMESTAMP: return 8;
    case CType::DATE: return 4;
    case CType::BOOL: return 1;
    default: return 0;
  }
}

inline bool Fits(CType t, const char* p, size_t n);

// Typing-pass check that a value fits a type, without converting it where a syntax check is
// enough (equivalent to the converters below: same accepted language).
inline bool FastFits(CType t, const char* p, size_t n) {
  if (t == CType::INT64 && n > 0 && n <= 18) {
    size_t i = (p[0] == '-' || p[0] == '+') ? 1 : 0;
    if (i >= n || (p[i] == '0' && n - i > 1)) return false;
    for (; i < n; i++) if (static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0') > 9) return false;
    return true;
  }
  if (t == CType::FLOAT64 && n > 0) {
    size_t i = (p[0] == '-' || p[0] == '+') ? 1 : 0;
    size_t d0 = i;
    while (i < n && static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0') <= 9) i++;
    size_t intDigits = i - d0, fracDigits = 0;
    if (intDigits > 1 && p[d0] == '0') return false;
    if (i < n && p[i] == '.') {
      size_t f0 = ++i;
      while (i < n && static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0') <= 9) i++;
      fracDigits = i - f0;
    }
    if (intDigits + fracDigits == 0) {
      double v;
      return csv::ParseFloat(p, n, &v);  // nan / inf / infinity
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
      i++;
      if (i < n && (p[i] == '+' || p[i] == '-')) i++;
      size_t e0 = i;
      while (i < n && static_cast<unsigned>(static_cast<unsigned char>(p[i]) - '0') <= 9) i++;
      if (i == e0 || i - e0 > 3) { double v; return csv::ParseFloat(p, n, &v); }
    }
    return i == n;
  }
  return Fits(t, p, n);
}

inline bool Fits(CType t, const char* p, size_t n) {
  switch (t) {
    case CType::BOOL: { bool b; return csv::ParseBool(p, n, &b); }
    case CType::INT64: { int64_t v; bool o; return csv::ParseInt(p, n, &v, &o); }
    case CType::FLOAT64: { double v; return csv::ParseFloat(p, n, &v); }
    case CType::DATE: { int32_t v; return csv::ParseDate(p, n, &v); }
    case CType::TIMESTAMP: { int64_t v; return csv::ParseTimestamp(p, n, &v, true); }
    case CType::STRING: return true;
    default: return false;
  }
}


// Where AssembleRange writes one column (null pointers: not wanted / not applicable).
struct ColumnDest {
  uint8_t* validity = nullptr;  // (rows + 7) / 8 bytes, written only when the range has nulls
  uint8_t* data = nullptr;      // fixed width: rows * w; bool: (rows + 7) / 8; string: chars
  int32_t* offsets = nullptr;   // string: rows + 1 entries
};

// One parse of a buffer into pieces, and the assembly of row ranges out of them.
class ParseCore {
 public:
  ParseCore(Parser& p, JobState* job) : parser(&p), job_(job) {}

  // results of the last ParseBuffer
  uint64_t rows = 0, lineAfter = 0, complete = 0;
  bool needMore = false;  // no complete row in the buffer (the caller must supply more bytes)
  std::vector<BadRow> bad;
  uint64_t badCount = 0;
  struct Widen { uint32_t col; CType from, to; uint64_t line; uint8_t ord; };
  std::vector<Widen> widened;
  // forced columns: per column, values that did not convert (this buffer) and the first few
  std::vector<uint64_t> unconverted;
  std::vector<Unconverted> unconvertedSamples;
  bool haveFirst = false;
  std::vector<std::string> firstRow;
  std::vector<CType> firstClasses;

  std::vector<Piece>& Pieces() { return *std::static_pointer_cast<std::vector<Piece>>(parser->pieces); }

  // Parses the complete rows of [base, base + N) (all of it when `last`). `guarded`: base is a file
  // mapping that may shrink under us; every read runs under GuardedRun (a fault -> E_TRUNCATED).
  // `safeEnd`: reads up to there are allowed (default base + N; the ingest passes the file's end).
  Status ParseBuffer(const char* base, uint64_t N, bool last, bool guarded, const char* safeEnd = nullptr);

  // Per-column sizes of rows [r0, r1) of the last parse: nulls and string bytes.
  void RangeStats(uint32_t j, uint64_t r0, uint64_t r1, uint64_t* nulls, uint64_t* chars);
  // Writes rows [r0, r1) of column j to `d` (validity only when `withValidity`).
  void AssembleRange(uint32_t j, uint64_t r0, uint64_t r1, bool withValidity, const ColumnDest& d);

  void StripCR(Fields& f) const {
    if (parser->d.term == '\n' && !f.empty()) {
      FieldRef& l = f.back();
      if (l.n > 0 && l.p[l.n - 1] == '\r') l.n--;
    }
  }

  // Append a string value, fixing its encoding (cp1252 -> UTF-8 when needed).
  void PutString(PieceCol& c, const char* p, size_t n, std::string& tmp) const {
    // copy first, then look for high bytes in the copy a word at a time (ASCII is the common case)
    char* d = c.chars.Extend(n);
    std::memcpy(d, p, n);
    uint64_t hi = 0;
    if (n >= 8) {
      size_t i = 0;
      for (; i + 8 <= n; i += 8) { uint64_t w; std::memcpy(&w, d + i, 8); hi |= w; }
      if (i < n) { uint64_t w; std::memcpy(&w, d + n - 8, 8); hi |= w; }  // the tail, overlapping
    } else {
      for (size_t i = 0; i < n; i++) hi |= static_cast<unsigned char>(d[i]);
    }
    if (!(hi & 0x8080808080808080ULL)) return;
    if (!parser->cp1252 && csv::ValidUtf8(reinterpret_cast<const unsigned char*>(p), n)) return;
    c.chars.len -= n;  // not UTF-8 (or a Windows-1252 file): transcode
    csv::Cp1252ToUtf8(reinterpret_cast<const unsigned char*>(p), n, &tmp);
    c.chars.append(tmp.data(), tmp.size());
  }

  void ParsePiece(Piece& pc, const std::vector<CType>& types, const std::vector<uint8_t>& ords) {
    Parser& P = *parser;
    const uint32_t nc = P.ncols;
    const bool infer = P.infer;
    const uint64_t bytes = static_cast<uint64_t>(pc.end - pc.begin);
    const uint64_t maxRows = bytes / std::max<uint32_t>(nc, 1) + 2;
    pc.seen.assign(nc, CType::NUL);
    if (infer) pc.ords.assign(nc, csv::ORD_ALL);
    else pc.ords = ords;
    pc.unconv.assign(nc, 0);
    pc.unconvSamples.clear();
    pc.widenLine.assign(nc, UINT64_MAX);
    pc.nulls.assign(nc, 0);
    pc.bad.clear();
    pc.badCount = 0;
    pc.rows = pc.lines = 0;
    if (!infer) {
      pc.cols.resize(nc);
      for (uint32_t j = 0; j < nc; j++) {
        PieceCol& c = pc.cols[j];
        c.nulls = 0;
        c.chars.clear();
        if (!FixedWidth(types[j])) c.chars.reserve(bytes);  // no regrowth while appending (cp1252 may still grow it)
        const int w = FixedWidth(types[j]);
        if (c.cap < maxRows) { c.valid.reset(new uint8_t[maxRows]); c.fixed.reset(); c.cap = maxRows; }
        if (w && !c.fixed) c.fixed.reset(new uint8_t[c.cap * 8]);
        if (!w && c.capOffs < c.cap) { c.offs.reset(new uint32_t[c.cap]); c.capOffs = c.cap; }
      }
    }
    Fields f;
    std::string scratch, tmp;
    const char* p = pc.begin;
    csv::BlockScan bs;
    bs.Reset(p, pc.end, P.d);
    uint64_t lines = 0, r = 0;
    JobState* job = job_;
    uint32_t tick = 0;
    // Rows are tokenized into a small row-major batch, then converted column by column: the type
    // dispatch is then the same for a whole run of values (predicted), not a new branch per field.
    const uint32_t K = std::max<uint32_t>(1, std::min<uint32_t>(256, 32768 / std::max<uint32_t>(nc, 1)));
    std::vector<FieldRef> batch(static_cast<size_t>(K) * nc);
    std::vector<uint64_t> blines(K);
    uint32_t bn = 0;
    // Parse mode, one column at a time with the type dispatch hoisted out of the row loop. A value
    // is converted first and only checked for a null token when it does not convert (no null token
    // is a number, date, timestamp or bool), so the common case costs one conversion.
    // A value that does not convert: the column widens (or, for dates, narrows its orders), or,
    // when forced, the value is null and counted (returns true then).
    auto widenAt = [&](uint32_t j, CType t, const char* vp, size_t vn, uint64_t rowLine, uint64_t row) -> bool {
      uint8_t vm = 0;
      const CType c = csv::ClassifyOrd(vp, vn, &vm);
      const bool forced = P.forced[j] != 0;
      if (csv::IsDateType(t) && csv::IsDateType(c) && (pc.ords[j] & vm)) {
        pc.ords[j] &= vm;  // read in another order of the mask: re-parse with the narrower one
        if (!forced) pc.seen[j] = csv::Join(pc.seen[j] == CType::NUL ? t : pc.seen[j], c);
        if (pc.widenLine[j] == UINT64_MAX) pc.widenLine[j] = rowLine;
        return false;
      }
      if (forced) {
        pc.unconv[j]++;
        size_t have = 0;
        for (const auto& u : pc.unconvSamples) have += u.col == j;
        if (have < kUnconvertedSamples) pc.unconvSamples.push_back({j, row, rowLine, std::string(vp, vn)});
        return true;
      }
      const CType want = csv::IsDateType(t) && csv::IsDateType(c) ? CType::STRING : csv::Join(t, c);
      pc.seen[j] = csv::Join(pc.seen[j] == CType::NUL ? t : pc.seen[j], want);
      if (pc.widenLine[j] == UINT64_MAX) pc.widenLine[j] = rowLine;
      return false;
    };
    auto fixedColumn = [&](uint32_t j, CType t, int w, uint64_t rbase, auto&& conv) {
      PieceCol& c = pc.cols[j];
      uint8_t* out = c.fixed.get();
      const char quote = P.d.quote;
      for (uint32_t i = 0; i < bn; i++) {
        const FieldRef& f = batch[static_cast<size_t>(i) * nc + j];
        const char* vp = f.p;
        size_t vn = f.n;
        if (f.quoted) csv::FieldValue(f, quote, scratch, &vp, &vn);
        const uint64_t r = rbase + i;
        uint8_t* dst = out + r * w;
        // 9 readable bytes at the value: the SWAR number paths may load 8 after a sign
        const bool wide = !f.quoted && vp + 9 <= safeEnd_;
        if (conv(vp, vn, dst, wide)) {
          if (c.nulls) c.valid[r] = 1;  // validity bytes are only kept once the piece saw a null
          continue;
        }
        std::memset(dst, 0, w);
        if (csv::IsNullToken(vp, vn)) {
          if (!c.nulls) std::memset(c.valid.get(), 1, r);  // first null: validity so far
          c.valid[r] = 0;
          c.nulls++;
          continue;
        }
        if (widenAt(j, t, vp, vn, blines[i], r)) {  // forced: null
          if (!c.nulls) std::memset(c.valid.get(), 1, r);
          c.valid[r] = 0;
          c.nulls++;
          continue;
        }
        if (c.nulls) c.valid[r] = 1;
      }
    };
    auto flush = [&]() {
      const uint64_t rbase = r;
      for (uint32_t j = 0; j < nc; j++) {
        if (infer) {
          for (uint32_t i = 0; i < bn; i++) {
            const char* vp;
            size_t vn;
            csv::FieldValue(batch[static_cast<size_t>(i) * nc + j], P.d.quote, scratch, &vp, &vn);
            if (csv::IsNullToken(vp, vn)) { pc.nulls[j]++; continue; }
            const CType s = pc.seen[j];
            if (s == CType::STRING) continue;
            if (!csv::IsDateType(s)) {
              if (FastFits(s, vp, vn)) continue;
            } else if (pc.ords[j] & csv::ORD_YMD) {  // ISO dates: the fast parsers, no classification
              if (s == CType::DATE ? (vn == 10 && Fits(CType::DATE, vp, vn)) : Fits(CType::TIMESTAMP, vp, vn)) { pc.ords[j] = csv::ORD_YMD; continue; }
            }
            uint8_t vm = 0;
            const CType c = csv::ClassifyOrd(vp, vn, &vm);
            CType ns = csv::Join(s, c);
            if (csv::IsDateType(ns)) {
              pc.ords[j] &= vm;  // the orders every date of the column can be read in
              if (!pc.ords[j]) ns = CType::STRING;
            }
            pc.seen[j] = ns;
          }
          continue;
        }
        const CType t = types[j];
        switch (t) {
          case CType::BOOL:
            if (P.forced[j]) {
              fixedColumn(j, t, 1, rbase, [](const char* vp, size_t vn, uint8_t* dst, bool) {
                bool b;
                if (!csv::ParseBoolLoose(vp, vn, &b)) return false;
                *dst = b ? 1 : 0;
                return true;
              });
              break;
            }
            fixedColumn(j, t, 1, rbase, [](const char* vp, size_t vn, uint8_t* dst, bool) {
              bool b;
              if (!csv::ParseBool(vp, vn, &b)) return false;
              *dst = b ? 1 : 0;
              return true;
            });
            break;
          case CType::INT64:
            if (P.forced[j]) {  // forced: also integral decimals ("3.0") and leading zeros ("007")
              fixedColumn(j, t, 8, rbase, [](const char* vp, size_t vn, uint8_t* dst, bool) {
                int64_t v;
                bool o;
                double d;
                if (!csv::ParseInt(vp, vn, &v, &o)) {
                  const std::string t = csv::DropLeadingZeros(vp, vn);
                  if (csv::ParseInt(t.data(), t.size(), &v, &o)) { std::memcpy(dst, &v, 8); return true; }
                  if (!csv::ParseFloat(t.data(), t.size(), &d) || !(d == std::floor(d)) || std::fabs(d) >= 9.2233720368547758e18) return false;
                  v = static_cast<int64_t>(d);
                }
                std::memcpy(dst, &v, 8);
                return true;
              });
              break;
            }
            fixedColumn(j, t, 8, rbase, [](const char* vp, size_t vn, uint8_t* dst, bool wide) {
              int64_t v;
              bool o;
              if (!(wide && csv::ParseIntSwar(vp, vn, &v)) && !csv::ParseInt(vp, vn, &v, &o)) return false;
              std::memcpy(dst, &v, 8);
              return true;
            });
            break;
          case CType::FLOAT64:
            if (P.forced[j]) {  // forced: also leading zeros ("007.5")
              fixedColumn(j, t, 8, rbase, [](const char* vp, size_t vn, uint8_t* dst, bool) {
                double v;
                if (!csv::ParseFloat(vp, vn, &v)) {
                  const std::string t = csv::DropLeadingZeros(vp, vn);
                  if (!csv::ParseFloat(t.data(), t.size(), &v)) return false;
                }
                std::memcpy(dst, &v, 8);
                return true;
              });
              break;
            }
            fixedColumn(j, t, 8, rbase, [](const char* vp, size_t vn, uint8_t* dst, bool wide) {
              double v;
              if (!(wide && csv::ParseFloatSwar(vp, vn, &v)) && !csv::ParseFloat(vp, vn, &v)) return false;
              std::memcpy(dst, &v, 8);
              return true;
            });
            break;
          case CType::DATE: {
            // ISO dates first (the fast path), then the column's order; a forced date column takes
            // the day of a timestamp (floor in UTC)
            const uint8_t ord = ords[j];
            const bool forced = P.forced[j] != 0;
            fixedColumn(j, t, 4, rbase, [ord, forced](const char* vp, size_t vn, uint8_t* dst, bool) {
              int32_t v;
              if ((ord & csv::ORD_YMD) && vn == 10 && csv::ParseDate(vp, vn, &v)) { std::memcpy(dst, &v, 4); return true; }
              int64_t us;
              bool hasTime;
              if (!csv::ParseDateTimeIn(vp, vn, ord, &us, &hasTime) || (hasTime && !forced)) return false;
              const int64_t day = 86400000000LL;
              v = static_cast<int32_t>(us >= 0 ? us / day : -((-us + day - 1) / day));
              std::memcpy(dst, &v, 4);
              return true;
            });
            break;
          }
          case CType::TIMESTAMP: {
            const uint8_t ord = ords[j];
            fixedColumn(j, t, 8, rbase, [ord](const char* vp, size_t vn, uint8_t* dst, bool) {
              int64_t v;
              bool hasTime;
              if (!((ord & csv::ORD_YMD) && csv::ParseTimestamp(vp, vn, &v, true)) && !csv::ParseDateTimeIn(vp, vn, ord, &v, &hasTime)) return false;
              std::memcpy(dst, &v, 8);
              return true;
            });
            break;
          }
          default: {
            PieceCol& c = pc.cols[j];
            const char quote = P.d.quote;
            for (uint32_t i = 0; i < bn; i++) {
              const FieldRef& f = batch[static_cast<size_t>(i) * nc + j];
              const char* vp = f.p;
              size_t vn = f.n;
              if (f.quoted) csv::FieldValue(f, quote, scratch, &vp, &vn);
              const uint64_t r = rbase + i;
              if (csv::IsNullToken(vp, vn)) {
                if (!c.nulls) std::memset(c.valid.get(), 1, r);
                c.valid[r] = 0;
                c.nulls++;
              } else {
                if (c.nulls) c.valid[r] = 1;
                PutString(c, vp, vn, tmp);
              }
              c.offs[r] = static_cast<uint32_t>(c.chars.size());
            }
            break;
          }
        }
      }
      r += bn;
      bn = 0;
    };
    while (p < pc.end) {
      if (++tick == 8192) {
        tick = 0;
        if (job->cancelled.load(std::memory_order_relaxed)) break;
      }
      const uint64_t rowLine = lines;
      bool inq = false;
      p = csv::ScanRowIdx(p, bs, P.d, f, lines, &inq);
      StripCR(f);
      if (inq) {  // unterminated quoted field at the end of the file
        pc.badCount++;
        if (pc.bad.size() < 1000) pc.bad.push_back({rowLine, -1});
        continue;
      }
      if (f.size() == 1 && f[0].n == 0) continue;  // blank line
      if (f.size() != nc) {
        pc.badCount++;
        if (pc.bad.size() < 1000) pc.bad.push_back({rowLine, static_cast<int64_t>(f.size())});
        continue;
      }
      std::memcpy(&batch[static_cast<size_t>(bn) * nc], &f[0], sizeof(FieldRef) * nc);
      blines[bn++] = rowLine;
      if (bn == K) flush();
      if (!infer && r + bn >= maxRows) break;  // cannot happen (bound), kept as a guard
    }
    flush();
    pc.rows = r;
    pc.lines = lines;
    if (!infer) for (uint32_t j = 0; j < nc; j++) pc.nulls[j] = pc.cols[j].nulls;
  }

  // First row of the stream (header or captured row), parsed serially. Returns bytes consumed.
  size_t FirstRow(const char* b, const char* e, uint64_t* lines) {
    Fields f;
    bool inq = false;
    const char* p = csv::ScanRow(b, e, parser->d, f, *lines, &inq);
    StripCR(f);
    if (parser->captureFirst) {
      std::string scratch, tmp;
      haveFirst = true;
      for (size_t k = 0; k < f.size(); k++) {
        FieldRef& r = f[k];
        const char* vp;
        size_t vn;
        csv::FieldValue(r, parser->d.quote, scratch, &vp, &vn);
        PieceCol pcol;
        PutString(pcol, vp, vn, tmp);
        firstRow.emplace_back(pcol.chars.data(), pcol.chars.size());
        firstClasses.push_back(csv::Classify(vp, vn));
      }
    }
    return static_cast<size_t>(p - b);
  }


 private:
  Parser* parser;
  JobState* job_;
  const char* safeEnd_ = nullptr;
};

// Runs f() under the SIGBUS guard when `guarded`; false when the mapping faulted.
template <class F>
inline bool MaybeGuarded(bool guarded, F&& f) {
  if (!guarded) { f(); return true; }
  return GuardedRun(std::forward<F>(f));
}

inline Status ParseCore::ParseBuffer(const char* base, uint64_t N, bool last, bool guarded, const char* safeEnd) {
  Parser& P = *parser;
  safeEnd_ = safeEnd ? safeEnd : base + N;
  const char q = P.d.quote;
  const char term = P.d.term;
  rows = 0; badCount = 0; complete = 0; needMore = false;
  bad.clear(); widened.clear();
  const Status truncated = Status::Error("E_TRUNCATED", P.path + ": the file shrank while it was being read");
  // Pass 1: quote parity per piece.
  const int threads = MaxThreads();
  const uint64_t np = P.splitPieces ? P.splitPieces : N < (1u << 20) ? 1 : static_cast<uint64_t>(threads) * 4;
  std::vector<uint64_t> bnd(np + 1);
  for (uint64_t k = 0; k <= np; k++) bnd[k] = N * k / np;
  std::vector<uint8_t> par(np + 1, 0);
  std::atomic<bool> fault{false};
  if (q) {
    std::vector<uint8_t> cnt(np, 0);
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < static_cast<int64_t>(np); k++) {
      // memchr (vectorised in libc) is fast when quotes are rare, the common case
      if (!MaybeGuarded(guarded, [&] {
            uint8_t c = 0;
            const char* s = base + bnd[k];
            const char* e = base + bnd[k + 1];
            while (s < e) {
              const void* hit = std::memchr(s, q, static_cast<size_t>(e - s));
              if (!hit) break;
              c ^= 1;
              s = static_cast<const char*>(hit) + 1;
            }
            cnt[k] = c;
          }))
        fault.store(true);
    }
    if (fault.load()) return truncated;
    for (uint64_t k = 0; k < np; k++) par[k + 1] = par[k] ^ cnt[k];
  }
  // End of complete rows.
  uint64_t end = N;
  if (!last) {
    end = 0;
    if (!MaybeGuarded(guarded, [&] {
          uint8_t st = par[np];
          for (uint64_t i = N; i-- > 0;) {
            const char c = base[i];
            if (c == q && q) st ^= 1;
            else if (c == term && !st) { end = i + 1; break; }
          }
        }))
      return truncated;
    if (end == 0) {
      if (N > P.maxRowBytes) {
        return Status::Error("E_ROW_TOO_LARGE", P.path + ": line " + std::to_string(P.line) +
                                                    ": a row (or an unterminated quoted field) is longer than " +
                                                    std::to_string(P.maxRowBytes >> 20) + " MiB");
      }
      needMore = true;
      lineAfter = P.line;
      return Status::Ok();
    }
  }
  uint64_t headLines = 0;
  uint64_t start0 = 0;
  if (P.skipFirst || P.captureFirst) {
    if (!MaybeGuarded(guarded, [&] { start0 = FirstRow(base, base + end, &headLines); })) return truncated;
    P.skipFirst = false;
    P.captureFirst = false;
  }
  // Piece starts: first terminator outside quotes after each boundary.
  std::vector<uint64_t> starts(np + 1);
  starts[0] = start0;
  starts[np] = end;
#pragma omp parallel for schedule(static)
  for (int64_t k = 1; k < static_cast<int64_t>(np); k++) {
    uint64_t s = end;
    if (!MaybeGuarded(guarded, [&] {
          uint64_t i = bnd[k];
          uint8_t st = par[k];
          for (; i < end; i++) {
            const char c = base[i];
            if (c == q && q) st ^= 1;
            else if (c == term && !st) { s = i + 1; break; }
          }
        }))
      fault.store(true);
    starts[k] = s;
  }
  if (fault.load()) return truncated;
  for (uint64_t k = 1; k < np; k++) starts[k] = std::min(end, std::max(starts[k], starts[k - 1]));
  // Pass 2: tokenize + convert, re-run with widened types if a value did not fit.
  std::vector<CType> types = P.types;
  std::vector<uint8_t> ords = P.ords;
  if (!P.pieces) P.pieces = std::make_shared<std::vector<Piece>>();
  std::vector<Piece>& pieces = Pieces();
  if (pieces.size() != np) pieces.resize(np);
  for (int attempt = 0; attempt < 8; attempt++) {
    for (uint64_t k = 0; k < np; k++) { pieces[k].begin = base + starts[k]; pieces[k].end = base + starts[k + 1]; }
    ErrorSlot failed;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = 0; k < static_cast<int64_t>(np); k++) {
      try {
        if (!MaybeGuarded(guarded, [&] { ParsePiece(pieces[k], types, ords); })) fault.store(true);
      } catch (...) {
        pieces[k].failed = true;
        failed.Capture(P.path + ": parsing");
      }
    }
    if (fault.load()) return truncated;
    if (failed.failed()) return failed.status();
    if (job_->cancelled.load()) return Status::Error("E_CANCELLED", "cancelled");
    if (P.infer) break;
    bool widen = false;
    for (auto& pc : pieces)
      for (uint32_t j = 0; j < P.ncols; j++) {
        if (pc.seen[j] != CType::NUL && csv::Join(types[j], pc.seen[j]) != types[j]) widen = true;
        if (csv::IsDateType(types[j]) && (pc.ords[j] & ords[j]) != ords[j]) widen = true;
      }
    if (!widen) break;
    // line of the first widening per column
    uint64_t lineBase = P.line + headLines;
    std::vector<uint64_t> first(P.ncols, UINT64_MAX);
    std::vector<CType> next = types;
    std::vector<uint8_t> nextOrds = ords;
    for (auto& pc : pieces) {
      for (uint32_t j = 0; j < P.ncols; j++) {
        if (pc.widenLine[j] != UINT64_MAX) first[j] = std::min(first[j], lineBase + pc.widenLine[j]);
        if (csv::IsDateType(types[j])) {
          const uint8_t m = nextOrds[j] & pc.ords[j];
          // a forced column keeps the first narrowing when pieces disagree (their values count as unconverted)
          if (m || !P.forced[j]) nextOrds[j] = m;
        }
        if (pc.seen[j] == CType::NUL) continue;
        next[j] = csv::Join(next[j], pc.seen[j]);
      }
      lineBase += pc.lines;
    }
    for (uint32_t j = 0; j < P.ncols; j++) {
      if (csv::IsDateType(next[j]) && !nextOrds[j]) next[j] = CType::STRING;  // no order fits every value
      if (next[j] != types[j] || (csv::IsDateType(next[j]) && nextOrds[j] != ords[j]))
        widened.push_back({j, types[j], next[j], first[j], nextOrds[j]});
    }
    types = next;
    ords = nextOrds;
  }
  // Merge bookkeeping (line numbers, bad rows, types).
  uint64_t lineBase = P.line + headLines;
  unconverted.assign(P.ncols, 0);
  unconvertedSamples.clear();
  for (auto& pc : pieces) {
    for (auto& b : pc.bad) if (bad.size() < 1000) bad.push_back({lineBase + b.line, b.fields});
    for (auto& u : pc.unconvSamples) {
      size_t have = 0;
      for (const auto& x : unconvertedSamples) have += x.col == u.col;
      if (have < kUnconvertedSamples) unconvertedSamples.push_back({u.col, P.rows + rows + u.row, lineBase + u.line, u.text});
    }
    badCount += pc.badCount;
    rows += pc.rows;
    for (uint32_t j = 0; j < P.ncols; j++) {
      P.nulls[j] += pc.nulls[j];
      unconverted[j] += pc.unconv[j];
      if (P.infer) {
        types[j] = csv::Join(types[j], pc.seen[j]);
        ords[j] &= pc.ords[j];
      }
    }
    lineBase += pc.lines;
  }
  if (P.infer)
    for (uint32_t j = 0; j < P.ncols; j++)
      if (csv::IsDateType(types[j]) && !ords[j]) types[j] = CType::STRING;  // no order fits every date
  if (P.strict && badCount > 0) {
    const BadRow& b = bad.front();
    return Status::Error("E_BAD_ROW", P.path + ": line " + std::to_string(b.line) + ": " +
                                          (b.fields < 0 ? std::string("unterminated quoted field")
                                                        : "expected " + std::to_string(P.ncols) + " fields, found " + std::to_string(b.fields)) +
                                          " (strict mode)");
  }
  P.types = types;
  P.ords = ords;
  P.rows += rows;
  P.badRows += badCount;
  lineAfter = lineBase;
  P.line = lineBase;
  complete = end;
  if (last) P.finished = true;
  return Status::Ok();
}

inline void ParseCore::RangeStats(uint32_t j, uint64_t r0, uint64_t r1, uint64_t* nulls, uint64_t* chars) {
  uint64_t nn = 0, ch = 0, base = 0;
  const bool str = FixedWidth(parser->types[j]) == 0 && parser->types[j] != CType::BOOL;
  for (auto& pc : Pieces()) {
    const uint64_t a = std::max(r0, base), b = std::min(r1, base + pc.rows);
    if (a < b) {
      const PieceCol& c = pc.cols[j];
      const uint64_t la = a - base, lb = b - base;
      if (c.nulls) {
        if (la == 0 && lb == pc.rows) nn += c.nulls;
        else for (uint64_t i = la; i < lb; i++) nn += c.valid[i] == 0;
      }
      if (str) ch += c.offs[lb - 1] - (la ? c.offs[la - 1] : 0);
    }
    base += pc.rows;
  }
  *nulls = nn;
  *chars = ch;
}

inline void ParseCore::AssembleRange(uint32_t j, uint64_t r0, uint64_t r1, bool withValidity, const ColumnDest& d) {
  const CType t = parser->types[j];
  const int w = FixedWidth(t);
  const uint64_t n = r1 - r0;
  if (withValidity && d.validity) std::memset(d.validity, 0, (n + 7) / 8);
  if (t == CType::BOOL && d.data) std::memset(d.data, 0, (n + 7) / 8);
  if (w == 0 && t != CType::BOOL && d.offsets) d.offsets[0] = 0;
  uint64_t base = 0, o = 0, chars = 0;
  for (auto& pc : Pieces()) {
    const uint64_t a = std::max(r0, base), b = std::min(r1, base + pc.rows);
    if (a < b) {
      const PieceCol& c = pc.cols[j];
      const uint64_t la = a - base, lb = b - base, m = lb - la;
      if (withValidity && d.validity) {
        uint8_t* v = d.validity;
        if (c.nulls) for (uint64_t i = 0; i < m; i++) v[(o + i) >> 3] |= static_cast<uint8_t>(c.valid[la + i] << ((o + i) & 7));
        else for (uint64_t i = 0; i < m; i++) v[(o + i) >> 3] |= static_cast<uint8_t>(1u << ((o + i) & 7));
      }
      if (t == CType::BOOL) {
        for (uint64_t i = 0; i < m; i++) d.data[(o + i) >> 3] |= static_cast<uint8_t>(c.fixed[la + i] << ((o + i) & 7));
      } else if (w) {
        std::memcpy(d.data + o * w, c.fixed.get() + la * w, m * w);
      } else {
        const uint32_t c0 = la ? c.offs[la - 1] : 0;
        const uint32_t c1 = c.offs[lb - 1];
        if (c1 > c0) std::memcpy(d.data + chars, c.chars.data() + c0, c1 - c0);
        const int64_t shift = static_cast<int64_t>(chars) - c0;
        for (uint64_t i = 0; i < m; i++) d.offsets[o + i + 1] = static_cast<int32_t>(c.offs[la + i] + shift);
        chars += c1 - c0;
      }
      o += m;
    }
    base += pc.rows;
  }
}

}  // namespace csvp
}  // namespace cdx
