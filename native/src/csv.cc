// CSV ingest: a stateful, streaming, parallel CSV parser exported to JS.
//
//   csvOpen({ path, delimiter, quote, terminator, ncols, mode: 'infer'|'parse', types?, header,
//             captureFirstRow, strict, cp1252, maxRowBytes }) -> parser handle (sync)
//   csvFeed(parser, chunk: Uint8Array, last: boolean, job?) -> Promise<FeedResult>
//
// JS streams the (decoded, BOM-free) bytes in chunks; each feed parses every complete row of
// carry + chunk in parallel (see csv_core.h for the chunk-boundary design) and keeps the incomplete
// tail for the next feed. Mode 'infer' only classifies values (the typing pass); mode 'parse'
// converts them into Arrow-layout column buffers (validity bitmap, float64 / int64 / int32 days /
// int64 microseconds / bit-packed bools / int32 offsets + UTF-8 bytes) returned as ArrayBuffers.
// Bad rows (wrong field count, an unterminated quote at end of file) are skipped and returned with
// their 1-based line numbers; with `strict` the feed rejects with E_BAD_ROW instead.
#include "csv_core.h"

#include "common.h"

#include <mutex>

namespace cdx {
namespace {

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
  std::vector<CType> types;
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

// Buffers are kept by the parser and reused from feed to feed (no page faults on fresh memory).
struct PieceCol {
  std::unique_ptr<uint8_t[]> valid;  // byte per row (1 = valid)
  std::unique_ptr<uint8_t[]> fixed;  // 8/4/1 bytes per row (room for 8)
  std::unique_ptr<uint32_t[]> offs;  // string end offsets (rows entries)
  uint64_t cap = 0, capOffs = 0;
  std::string chars;
  uint64_t nulls = 0;
};

struct Piece {
  const char* begin = nullptr;
  const char* end = nullptr;
  uint64_t rows = 0, lines = 0;
  std::vector<BadRow> bad;
  uint64_t badCount = 0;
  std::vector<CType> seen;      // infer: join of classes; parse: widening target (NUL = none)
  std::vector<uint64_t> widenLine;
  std::vector<uint64_t> nulls;
  std::vector<PieceCol> cols;
  bool failed = false;          // an exception inside the piece (bad_alloc)
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

class FeedWorker : public PromiseWorker {
 public:
  FeedWorker(Napi::Env env) : PromiseWorker(env, "cdx.csvFeed") {}
  ParserPtr parser;
  bool last = false;
  void SetJob(JobPtr j) { job_ = std::move(j); }

  // results
  uint64_t rows = 0, lineAfter = 0, consumed = 0;
  std::vector<OutCol>* out = nullptr;
  std::vector<BadRow> bad;
  uint64_t badCount = 0;
  struct Widen { uint32_t col; CType from, to; uint64_t line; };
  std::vector<Widen> widened;
  bool haveFirst = false;
  std::vector<std::string> firstRow;
  std::vector<CType> firstClasses;

  ~FeedWorker() override {
    if (parser) parser->busy.store(false);
  }

 protected:
  void StripCR(Fields& f) const {
    if (parser->d.term == '\n' && !f.empty()) {
      FieldRef& l = f.back();
      if (l.n > 0 && l.p[l.n - 1] == '\r') l.n--;
    }
  }

  // Append a string value, fixing its encoding (cp1252 -> UTF-8 when needed).
  void PutString(PieceCol& c, const char* p, size_t n, std::string& tmp) const {
    bool high = false;
    if (parser->cp1252) {
      for (size_t i = 0; i < n; i++) if (static_cast<unsigned char>(p[i]) >= 0x80) { high = true; break; }
    } else {
      high = !csv::ValidUtf8(reinterpret_cast<const unsigned char*>(p), n);
    }
    if (high) {
      csv::Cp1252ToUtf8(reinterpret_cast<const unsigned char*>(p), n, &tmp);
      c.chars.append(tmp);
    } else {
      c.chars.append(p, n);
    }
  }

  void ParsePiece(Piece& pc, const std::vector<CType>& types) {
    Parser& P = *parser;
    const uint32_t nc = P.ncols;
    const bool infer = P.infer;
    const uint64_t bytes = static_cast<uint64_t>(pc.end - pc.begin);
    const uint64_t maxRows = bytes / std::max<uint32_t>(nc, 1) + 2;
    pc.seen.assign(nc, CType::NUL);
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
    auto* job = job_.get();
    uint32_t tick = 0;
    // Rows are tokenized into a small row-major batch, then converted column by column: the type
    // dispatch is then the same for a whole run of values (predicted), not a new branch per field.
    const uint32_t K = std::max<uint32_t>(1, std::min<uint32_t>(256, 32768 / std::max<uint32_t>(nc, 1)));
    std::vector<FieldRef> batch(static_cast<size_t>(K) * nc);
    std::vector<uint64_t> blines(K);
    uint32_t bn = 0;
    auto flush = [&]() {
      const uint64_t rbase = r;
      for (uint32_t j = 0; j < nc; j++) {
        for (uint32_t i = 0; i < bn; i++) {
          const uint64_t r = rbase + i;
          const uint64_t rowLine = blines[i];
          const char* vp;
          size_t vn;
          csv::FieldValue(batch[static_cast<size_t>(i) * nc + j], P.d.quote, scratch, &vp, &vn);
          const bool isNull = csv::IsNullToken(vp, vn);
          if (infer) {
            if (isNull) { pc.nulls[j]++; continue; }
            const CType s = pc.seen[j];
            if (s == CType::STRING) continue;
            if (!FastFits(s, vp, vn)) pc.seen[j] = csv::Join(s, csv::Classify(vp, vn));
            continue;
          }
          PieceCol& c = pc.cols[j];
          const CType t = types[j];
          bool ok = true;
          if (isNull && !c.nulls) std::memset(c.valid.get(), 1, r);  // first null: validity so far
          if (isNull && t != CType::STRING) {
            c.valid[r] = 0; c.nulls++;
            const int w = FixedWidth(t);
            if (w) std::memset(c.fixed.get() + r * w, 0, w);
            continue;
          }
          if (isNull) {  // string column
            c.valid[r] = 0; c.nulls++;
            c.offs[r] = static_cast<uint32_t>(c.chars.size());
            continue;
          }
          if (c.nulls) c.valid[r] = 1;  // validity bytes are only kept once the piece saw a null
          switch (t) {
            case CType::BOOL: {
              bool b = false; ok = csv::ParseBool(vp, vn, &b);
              c.fixed[r] = b ? 1 : 0;
              break;
            }
            case CType::INT64: {
              int64_t v = 0; bool o; ok = csv::ParseInt(vp, vn, &v, &o);
              std::memcpy(c.fixed.get() + r * 8, &v, 8);
              break;
            }
            case CType::FLOAT64: {
              double v = 0; ok = csv::ParseFloat(vp, vn, &v);
              std::memcpy(c.fixed.get() + r * 8, &v, 8);
              break;
            }
            case CType::DATE: {
              int32_t v = 0; ok = csv::ParseDate(vp, vn, &v);
              std::memcpy(c.fixed.get() + r * 4, &v, 4);
              break;
            }
            case CType::TIMESTAMP: {
              int64_t v = 0; ok = csv::ParseTimestamp(vp, vn, &v, true);
              std::memcpy(c.fixed.get() + r * 8, &v, 8);
              break;
            }
            default:
              PutString(c, vp, vn, tmp);
              c.offs[r] = static_cast<uint32_t>(c.chars.size());
              break;
          }
          if (!ok) {
            CType want = csv::Join(t, csv::Classify(vp, vn));
            pc.seen[j] = csv::Join(pc.seen[j] == CType::NUL ? t : pc.seen[j], want);
            if (pc.widenLine[j] == UINT64_MAX) pc.widenLine[j] = rowLine;
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
        firstRow.push_back(pcol.chars);
        firstClasses.push_back(csv::Classify(vp, vn));
      }
    }
    return static_cast<size_t>(p - b);
  }

  void Run() override {
    Parser& P = *parser;
    const char* base = reinterpret_cast<const char*>(P.buf.p.get());
    const uint64_t N = P.buf.len;
    const char q = P.d.quote;
    const char term = P.d.term;
    job_->total.store(N);
    // Pass 1: quote parity per piece.
    const int threads = MaxThreads();
    const uint64_t np = N < (1u << 20) ? 1 : static_cast<uint64_t>(threads) * 4;
    std::vector<uint64_t> bnd(np + 1);
    for (uint64_t k = 0; k <= np; k++) bnd[k] = N * k / np;
    std::vector<uint8_t> par(np + 1, 0);
    if (q) {
      std::vector<uint8_t> cnt(np, 0);
#pragma omp parallel for schedule(static)
      for (int64_t k = 0; k < static_cast<int64_t>(np); k++) {
        // memchr (vectorised in libc) is fast when quotes are rare, the common case
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
      }
      for (uint64_t k = 0; k < np; k++) par[k + 1] = par[k] ^ cnt[k];
    }
    const bool endInq = par[np] != 0;
    // End of complete rows.
    uint64_t complete = N;
    if (!last) {
      complete = 0;
      uint8_t st = par[np];
      for (uint64_t i = N; i-- > 0;) {
        const char c = base[i];
        if (c == q && q) st ^= 1;
        else if (c == term && !st) { complete = i + 1; break; }
      }
      if (complete == 0) {
        if (N > P.maxRowBytes) {
          status_ = Status::Error("E_ROW_TOO_LARGE", P.path + ": line " + std::to_string(P.line) +
                                  ": a row (or an unterminated quoted field) is longer than " +
                                  std::to_string(P.maxRowBytes >> 20) + " MiB");
          return;
        }
        // everything is carried to the next feed
        P.carryOff = 0;
        P.carryLen = N;
        lineAfter = P.line;
        return;
      }
    }
    (void)endInq;
    uint64_t headLines = 0;
    uint64_t start0 = 0;
    if (P.skipFirst || P.captureFirst) {
      start0 = FirstRow(base, base + complete, &headLines);
      P.skipFirst = false;
      P.captureFirst = false;
    }
    // Piece starts: first terminator outside quotes after each boundary.
    std::vector<uint64_t> starts(np + 1);
    starts[0] = start0;
    starts[np] = complete;
#pragma omp parallel for schedule(static)
    for (int64_t k = 1; k < static_cast<int64_t>(np); k++) {
      uint64_t i = bnd[k];
      uint8_t st = par[k];
      uint64_t s = complete;
      for (; i < complete; i++) {
        const char c = base[i];
        if (c == q && q) st ^= 1;
        else if (c == term && !st) { s = i + 1; break; }
      }
      starts[k] = s;
    }
    for (uint64_t k = 1; k < np; k++) starts[k] = std::min(complete, std::max(starts[k], starts[k - 1]));
    // Pass 2: tokenize + convert, re-run with widened types if a value did not fit.
    std::vector<CType> types = P.types;
    if (!P.pieces) P.pieces = std::make_shared<std::vector<Piece>>();
    std::vector<Piece>& pieces = *std::static_pointer_cast<std::vector<Piece>>(P.pieces);
    if (pieces.size() != np) pieces.resize(np);
    for (int attempt = 0; attempt < 8; attempt++) {
      for (uint64_t k = 0; k < np; k++) { pieces[k].begin = base + starts[k]; pieces[k].end = base + starts[k + 1]; }
      std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic, 1)
      for (int64_t k = 0; k < static_cast<int64_t>(np); k++) {
        try {
          ParsePiece(pieces[k], types);
        } catch (...) {
          pieces[k].failed = true;
          failed.store(true);
        }
      }
      if (failed.load()) { status_ = Status::Error("E_NOMEM", P.path + ": out of memory while parsing"); return; }
      if (Cancelled()) return;
      if (P.infer) break;
      bool widen = false;
      for (auto& pc : pieces)
        for (uint32_t j = 0; j < P.ncols; j++)
          if (pc.seen[j] != CType::NUL && csv::Join(types[j], pc.seen[j]) != types[j]) widen = true;
      if (!widen) break;
      // line of the first widening per column
      uint64_t lineBase = P.line + headLines;
      std::vector<uint64_t> first(P.ncols, UINT64_MAX);
      std::vector<CType> next = types;
      for (auto& pc : pieces) {
        for (uint32_t j = 0; j < P.ncols; j++) {
          if (pc.seen[j] == CType::NUL) continue;
          next[j] = csv::Join(next[j], pc.seen[j]);
          if (pc.widenLine[j] != UINT64_MAX) first[j] = std::min(first[j], lineBase + pc.widenLine[j]);
        }
        lineBase += pc.lines;
      }
      for (uint32_t j = 0; j < P.ncols; j++)
        if (next[j] != types[j]) widened.push_back({j, types[j], next[j], first[j]});
      types = next;
    }
    // Merge bookkeeping (line numbers, bad rows, types).
    uint64_t lineBase = P.line + headLines;
    for (auto& pc : pieces) {
      for (auto& b : pc.bad) if (bad.size() < 1000) bad.push_back({lineBase + b.line, b.fields});
      badCount += pc.badCount;
      rows += pc.rows;
      for (uint32_t j = 0; j < P.ncols; j++) {
        P.nulls[j] += pc.nulls[j];
        if (P.infer) types[j] = csv::Join(types[j], pc.seen[j]);
      }
      lineBase += pc.lines;
    }
    if (P.strict && badCount > 0) {
      const BadRow& b = bad.front();
      status_ = Status::Error("E_BAD_ROW", P.path + ": line " + std::to_string(b.line) + ": " +
                              (b.fields < 0 ? std::string("unterminated quoted field")
                                            : "expected " + std::to_string(P.ncols) + " fields, found " + std::to_string(b.fields)) +
                              " (strict mode)");
      return;
    }
    P.types = types;
    P.rows += rows;
    P.badRows += badCount;
    lineAfter = lineBase;
    P.line = lineBase;
    consumed = complete;
    P.carryOff = complete;
    P.carryLen = N - complete;
    if (last) P.finished = true;
    if (P.infer) return;
    // Assemble the pieces into contiguous Arrow buffers (parallel over columns).
    if (!P.out) P.out = std::make_shared<std::vector<OutCol>>();
    out = std::static_pointer_cast<std::vector<OutCol>>(P.out).get();
    out->resize(P.ncols);
    std::atomic<bool> failed{false};
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t jj = 0; jj < static_cast<int64_t>(P.ncols); jj++) {
      try {
        const uint32_t j = static_cast<uint32_t>(jj);
        OutCol& o = (*out)[j];
        o.type = types[j];
        o.nulls = 0;
        for (auto& pc : pieces) o.nulls += pc.cols[j].nulls;
        uint8_t* valid = o.nulls ? o.validity.Zeroed((rows + 7) / 8) : (o.validity.len = 0, nullptr);
        const int w = FixedWidth(types[j]);
        uint8_t* data = nullptr;
        int32_t* offs = nullptr;
        o.offsets.len = 0;
        if (types[j] == CType::BOOL) data = o.data.Zeroed((rows + 7) / 8);
        else if (w) data = o.data.Ensure(rows * w);
        else {
          uint64_t total = 0;
          for (auto& pc : pieces) total += pc.cols[j].chars.size();
          if (total > 0x7fffffffULL) { failed.store(true); continue; }
          data = o.data.Ensure(total);
          offs = reinterpret_cast<int32_t*>(o.offsets.Ensure((rows + 1) * 4));
          offs[0] = 0;
        }
        uint64_t r0 = 0, chars = 0;
        for (auto& pc : pieces) {
          PieceCol& c = pc.cols[j];
          const uint64_t n = pc.rows;
          if (valid) {
            if (c.nulls) for (uint64_t i = 0; i < n; i++) valid[(r0 + i) >> 3] |= static_cast<uint8_t>(c.valid[i] << ((r0 + i) & 7));
            else for (uint64_t i = 0; i < n; i++) valid[(r0 + i) >> 3] |= static_cast<uint8_t>(1u << ((r0 + i) & 7));
          }
          if (types[j] == CType::BOOL) {
            for (uint64_t i = 0; i < n; i++) data[(r0 + i) >> 3] |= static_cast<uint8_t>(c.fixed[i] << ((r0 + i) & 7));
          } else if (w) {
            if (n) std::memcpy(data + r0 * w, c.fixed.get(), n * w);
          } else {
            if (!c.chars.empty()) std::memcpy(data + chars, c.chars.data(), c.chars.size());
            for (uint64_t i = 0; i < n; i++) offs[r0 + i + 1] = static_cast<int32_t>(chars + c.offs[i]);
            chars += c.chars.size();
          }
          r0 += n;
        }
      } catch (...) {
        failed.store(true);
      }
    }
    if (failed.load()) status_ = Status::Error("E_TOO_LARGE", P.path + ": a batch holds more than 2 GiB of text or memory ran out; use smaller chunks");
  }

  Napi::Value Result(Napi::Env env) override {
    Parser& P = *parser;
    Napi::Object o = Napi::Object::New(env);
    o.Set("rows", Napi::Number::New(env, static_cast<double>(rows)));
    o.Set("line", Napi::Number::New(env, static_cast<double>(lineAfter)));
    o.Set("consumed", Napi::Number::New(env, static_cast<double>(consumed)));
    o.Set("carry", Napi::Number::New(env, static_cast<double>(P.carryLen)));
    Napi::Array types = Napi::Array::New(env, P.ncols);
    Napi::Float64Array nulls = Napi::Float64Array::New(env, P.ncols);
    for (uint32_t j = 0; j < P.ncols; j++) {
      types.Set(j, Napi::String::New(env, csv::CTypeName(P.types[j])));
      nulls[j] = static_cast<double>(P.nulls[j]);
    }
    o.Set("types", types);
    o.Set("nulls", nulls);
    Napi::Float64Array badArr = Napi::Float64Array::New(env, bad.size() * 2);
    for (size_t i = 0; i < bad.size(); i++) {
      badArr[i * 2] = static_cast<double>(bad[i].line);
      badArr[i * 2 + 1] = static_cast<double>(bad[i].fields);
    }
    o.Set("bad", badArr);
    o.Set("badCount", Napi::Number::New(env, static_cast<double>(badCount)));
    Napi::Array wid = Napi::Array::New(env, widened.size());
    for (size_t i = 0; i < widened.size(); i++) {
      Napi::Object w = Napi::Object::New(env);
      w.Set("column", Napi::Number::New(env, widened[i].col));
      w.Set("from", Napi::String::New(env, csv::CTypeName(widened[i].from)));
      w.Set("to", Napi::String::New(env, csv::CTypeName(widened[i].to)));
      w.Set("line", Napi::Number::New(env, static_cast<double>(widened[i].line)));
      wid.Set(static_cast<uint32_t>(i), w);
    }
    o.Set("widened", wid);
    if (haveFirst) {
      Napi::Array fr = Napi::Array::New(env, firstRow.size());
      Napi::Array fc = Napi::Array::New(env, firstRow.size());
      for (size_t i = 0; i < firstRow.size(); i++) {
        fr.Set(static_cast<uint32_t>(i), Napi::String::New(env, firstRow[i]));
        fc.Set(static_cast<uint32_t>(i), Napi::String::New(env, csv::CTypeName(firstClasses[i])));
      }
      o.Set("firstRow", fr);
      o.Set("firstClasses", fc);
    }
    if (!P.infer && out) {
      Napi::Array cols = Napi::Array::New(env, out->size());
      for (size_t j = 0; j < out->size(); j++) {
        OutCol& c = (*out)[j];
        Napi::Object e = Napi::Object::New(env);
        e.Set("type", Napi::String::New(env, csv::CTypeName(c.type)));
        e.Set("nullCount", Napi::Number::New(env, static_cast<double>(c.nulls)));
        auto data = Napi::ArrayBuffer::New(env, c.data.len);
        if (c.data.len) std::memcpy(data.Data(), c.data.p.get(), c.data.len);
        e.Set("data", data);
        if (c.validity.len) {
          auto v = Napi::Uint8Array::New(env, c.validity.len);
          std::memcpy(v.Data(), c.validity.p.get(), c.validity.len);
          e.Set("validity", v);
        }
        if (FixedWidth(c.type) == 0) {
          auto off = Napi::Int32Array::New(env, c.offsets.len / 4);
          if (c.offsets.len) std::memcpy(off.Data(), c.offsets.p.get(), c.offsets.len);
          e.Set("offsets", off);
        }
        cols.Set(static_cast<uint32_t>(j), e);
      }
      o.Set("columns", cols);
    }
    return o;
  }
};

void FinalizeParser(Napi::Env, ParserPtr* p) { delete p; }

char CharOpt(const Napi::Object& o, const char* key, char dflt, Status* st) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsString()) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a one-character string"); return dflt; }
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.size() > 1) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be one ASCII character"); return dflt; }
  return s.empty() ? '\0' : s[0];
}

// csvOpen(options) -> parser handle (synchronous; throws on bad options)
Napi::Value CsvOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Status st;
  if (info.Length() < 1 || !info[0].IsObject()) {
    MakeError(env, Status::Error("E_BAD_ARG", "csvOpen(options)")).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto p = std::make_shared<Parser>();
  GetStr(o, "path", &p->path, &st, false);
  p->d.delim = CharOpt(o, "delimiter", ',', &st);
  p->d.quote = CharOpt(o, "quote", '"', &st);
  p->d.term = CharOpt(o, "terminator", '\n', &st);
  uint64_t ncols = 0, maxRow = 0;
  GetU64(o, "ncols", &ncols, &st, true);
  if (GetU64(o, "maxRowBytes", &maxRow, &st, false) && maxRow) p->maxRowBytes = maxRow;
  std::string mode = "parse";
  GetStr(o, "mode", &mode, &st, false);
  GetBool(o, "header", &p->skipFirst, false);
  GetBool(o, "captureFirstRow", &p->captureFirst, false);
  GetBool(o, "strict", &p->strict, false);
  GetBool(o, "cp1252", &p->cp1252, false);
  if (st.ok() && (ncols == 0 || ncols > 100000)) st = Status::Error("E_BAD_ARG", "ncols must be 1..100000");
  if (st.ok() && (p->d.delim == 0 || p->d.delim == p->d.quote || p->d.delim == p->d.term || (p->d.term != '\n' && p->d.term != '\r')))
    st = Status::Error("E_BAD_ARG", "bad CSV dialect (delimiter, quote, terminator)");
  if (!st.ok()) {
    MakeError(env, st).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  p->d.Init();
  p->ncols = static_cast<uint32_t>(ncols);
  p->infer = mode == "infer";
  if (p->infer) p->skipFirst = p->skipFirst && !p->captureFirst;
  else p->captureFirst = false;
  p->types.assign(p->ncols, p->infer ? CType::NUL : CType::STRING);
  p->nulls.assign(p->ncols, 0);
  Napi::Value tv = o.Get("types");
  if (tv.IsArray()) {
    Napi::Array a = tv.As<Napi::Array>();
    for (uint32_t j = 0; j < p->ncols && j < a.Length(); j++) {
      Napi::Value x = a.Get(j);
      if (x.IsString()) {
        CType t = csv::CTypeFromName(x.As<Napi::String>().Utf8Value());
        p->types[j] = (t == CType::NUL && !p->infer) ? CType::STRING : t;
      }
    }
  }
  return Napi::External<ParserPtr>::New(env, new ParserPtr(p), FinalizeParser);
}

// csvFeed(parser, chunk, last, job?) -> Promise<FeedResult>
Napi::Value CsvFeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new FeedWorker(env);
  if (info.Length() < 3 || !info[0].IsExternal() || !info[1].IsTypedArray() || !info[2].IsBoolean())
    return w->Start(Status::Error("E_BAD_ARG", "csvFeed(parser, chunk: Uint8Array, last: boolean)"));
  ParserPtr* pp = info[0].As<Napi::External<ParserPtr>>().Data();
  if (!pp || !*pp) return w->Start(Status::Error("E_BAD_ARG", "bad parser handle"));
  ParserPtr p = *pp;
  if (p->finished) return w->Start(Status::Error("E_BAD_ARG", p->path + ": the parser already saw the last chunk"));
  bool expected = false;
  if (!p->busy.compare_exchange_strong(expected, true))
    return w->Start(Status::Error("E_BUSY", p->path + ": a feed is already running on this parser"));
  w->parser = p;  // the destructor releases `busy`
  Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  const size_t len = ta.ByteLength();
  // carry + chunk into the parser's reusable buffer (one copy: the JS chunk can be reused at once)
  const size_t need = p->carryLen + len;
  if (need > p->buf.cap) {
    std::unique_ptr<uint8_t[]> nb(new (std::nothrow) uint8_t[need + need / 4]);
    if (!nb) return w->Start(Status::Error("E_NOMEM", p->path + ": out of memory for a chunk"));
    if (p->carryLen) std::memcpy(nb.get(), p->buf.p.get() + p->carryOff, p->carryLen);
    p->buf.p = std::move(nb);
    p->buf.cap = need + need / 4;
  } else if (p->carryLen && p->carryOff) {
    std::memmove(p->buf.p.get(), p->buf.p.get() + p->carryOff, p->carryLen);
  }
  if (len) std::memcpy(p->buf.p.get() + p->carryLen, data, len);
  p->buf.len = need;
  p->carryOff = 0;
  p->carryLen = 0;
  w->last = info[2].As<Napi::Boolean>().Value();
  if (info.Length() > 3) w->SetJob(GetJob(info[3]));
  return w->Start();
}

Export e_open("csvOpen", CsvOpen);
Export e_feed("csvFeed", CsvFeed);

}  // namespace
}  // namespace cdx
