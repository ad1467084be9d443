// libFuzzer harness: the native CSV parser (src/csv_core.h tokenizer and value converters,
// src/csv_parse.h ParseBuffer / RangeStats / AssembleRange), built without Node under
// AddressSanitizer and UndefinedBehaviorSanitizer (build.sh).
//
// Input: 4 option bytes, then the CSV text.
//   [0] delimiter (, ; TAB |), quote (" ' none), terminator (LF or CR), header row
//   [1] columns (1..8), strict, cp1252, types of the parse (inferred / all int64 / all date)
//   [2] pieces for the split parse (2..17), forced columns (bit per column 0..2)
//   [3] where a streamed feed is cut (fraction of the text), rows of the sub-range assembly
//
// Beyond "no sanitizer report", the harness checks what the parallel design promises
// (csv_core.h): the text parsed as one piece and cut into many pieces at quote-parity boundaries
// gives the same rows, bad rows, types, null counts and column bytes; fed in two buffers (the
// carry kept between feeds) it gives the same rows and bad rows; assembled string offsets rise
// and stay inside the characters. A difference aborts (a crash libFuzzer keeps).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "csv_parse.h"

using namespace cdx;
using csv::CType;

namespace {

struct Opts {
  char delim = ',', quote = '"', term = '\n';
  bool header = false, strict = false, cp1252 = false;
  uint32_t ncols = 1, pieces = 2, forcedMask = 0;
  int typing = 0;  // 0 inferred, 1 int64, 2 date
  uint8_t cut = 0, sub = 0;
};

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "csv_fuzz: %s\n", what);
  std::abort();
}
#define CHECK(c) \
  do {           \
    if (!(c)) Fail(#c); \
  } while (0)

std::unique_ptr<csvp::Parser> MakeParser(const Opts& o, bool infer, const std::vector<CType>& types, uint32_t pieces) {
  auto p = std::make_unique<csvp::Parser>();
  p->path = "fuzz.csv";
  p->d.delim = o.delim;
  p->d.quote = o.quote;
  p->d.term = o.term;
  p->d.Init();
  p->ncols = o.ncols;
  p->infer = infer;
  p->skipFirst = o.header && !infer;
  p->captureFirst = o.header && infer;
  p->strict = o.strict;
  p->cp1252 = o.cp1252;
  p->splitPieces = pieces;
  p->types = infer ? std::vector<CType>(o.ncols, CType::NUL) : types;
  p->nulls.assign(o.ncols, 0);
  p->ords.assign(o.ncols, infer ? csv::ORD_ALL : csv::ORD_YMD);
  p->forced.assign(o.ncols, 0);
  if (!infer)
    for (uint32_t j = 0; j < o.ncols; j++) p->forced[j] = (o.forcedMask >> j) & 1;
  return p;
}

// One column of rows [r0, r1) as AssembleRange lays it out, in buffers of the exact size (so
// AddressSanitizer sees a write past any of them).
struct Assembled {
  CType type;
  uint64_t nulls = 0, chars = 0;
  std::vector<uint8_t> validity, data;
  std::vector<int32_t> offsets;
  bool operator==(const Assembled& o) const {
    return type == o.type && nulls == o.nulls && chars == o.chars && validity == o.validity && data == o.data && offsets == o.offsets;
  }
};

Assembled Assemble(csvp::ParseCore& core, const csvp::Parser& P, uint32_t j, uint64_t r0, uint64_t r1) {
  Assembled a;
  a.type = P.types[j];
  core.RangeStats(j, r0, r1, &a.nulls, &a.chars);
  const uint64_t n = r1 - r0;
  const int w = csvp::FixedWidth(a.type);
  const uint64_t dataLen = a.type == CType::BOOL ? (n + 7) / 8 : w ? n * w : a.chars;
  std::unique_ptr<uint8_t[]> v(new uint8_t[(n + 7) / 8]), d(new uint8_t[dataLen]);
  std::unique_ptr<int32_t[]> off(w == 0 && a.type != CType::BOOL ? new int32_t[n + 1] : nullptr);
  csvp::ColumnDest dest;
  dest.validity = a.nulls ? v.get() : nullptr;
  dest.data = d.get();
  dest.offsets = off.get();
  core.AssembleRange(j, r0, r1, a.nulls > 0, dest);
  if (a.nulls) a.validity.assign(v.get(), v.get() + (n + 7) / 8);
  a.data.assign(d.get(), d.get() + dataLen);
  if (off) {
    a.offsets.assign(off.get(), off.get() + n + 1);
    CHECK(a.offsets[0] == 0);
    for (uint64_t i = 0; i < n; i++) CHECK(a.offsets[i] <= a.offsets[i + 1]);
    CHECK(static_cast<uint64_t>(a.offsets[n]) == a.chars);
  }
  return a;
}

struct Result {
  Status st;
  uint64_t rows = 0, bad = 0;
  std::vector<CType> types;
  std::vector<uint8_t> ords;
  std::vector<uint64_t> nulls;
  std::vector<Assembled> cols, sub;
};

Result Parse(const Opts& o, const char* text, uint64_t n, bool infer, const std::vector<CType>& types, uint32_t pieces) {
  Result r;
  auto P = MakeParser(o, infer, types, pieces);
  JobState job;
  csvp::ParseCore core(*P, &job);
  r.st = core.ParseBuffer(text, n, true, false);
  if (!r.st.ok()) return r;
  r.rows = core.rows;
  r.bad = core.badCount;
  r.types = P->types;
  r.ords = P->ords;
  r.nulls = P->nulls;
  CHECK(P->rows == core.rows);
  if (infer) return r;
  const uint64_t s0 = r.rows ? o.sub % r.rows : 0;
  const uint64_t s1 = std::min<uint64_t>(r.rows, s0 + 1 + o.sub / 16);
  for (uint32_t j = 0; j < o.ncols; j++) {
    r.cols.push_back(Assemble(core, *P, j, 0, r.rows));
    CHECK(r.cols.back().nulls == P->nulls[j]);
    if (s1 > s0) r.sub.push_back(Assemble(core, *P, j, s0, s1));
  }
  return r;
}

// The text fed in two buffers as csvFeed does: the first ends at `cut` (not last); its incomplete
// tail is carried into the second (last). Returns rows and bad rows over both.
bool Streamed(const Opts& o, const char* text, uint64_t n, uint64_t cut, const std::vector<CType>& types, uint64_t* rows, uint64_t* bad) {
  auto P = MakeParser(o, false, types, 0);
  JobState job;
  csvp::ParseCore core(*P, &job);
  // the first buffer alone, in a heap block of its own size (reads past it are caught)
  std::unique_ptr<char[]> first(new char[cut ? cut : 1]);
  std::memcpy(first.get(), text, cut);
  Status st = core.ParseBuffer(first.get(), cut, false, false);
  if (!st.ok()) return false;
  uint64_t done = 0;
  *rows = *bad = 0;
  if (!core.needMore) {
    done = core.complete;
    CHECK(done <= cut);
    *rows += core.rows;
    *bad += core.badCount;
  }
  const uint64_t rest = n - done;
  std::unique_ptr<char[]> second(new char[rest ? rest : 1]);
  std::memcpy(second.get(), text + done, rest);
  st = core.ParseBuffer(second.get(), rest, true, false);
  if (!st.ok()) return false;
  *rows += core.rows;
  *bad += core.badCount;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  Opts o;
  static const char kDelims[] = {',', ';', '\t', '|'};
  static const char kQuotes[] = {'"', '\'', '\0', '"'};
  o.delim = kDelims[data[0] & 3];
  o.quote = kQuotes[(data[0] >> 2) & 3];
  o.term = (data[0] >> 4) & 1 ? '\r' : '\n';
  o.header = (data[0] >> 5) & 1;
  o.ncols = 1 + (data[1] & 7);
  o.strict = (data[1] >> 3) & 1;
  o.cp1252 = (data[1] >> 4) & 1;
  o.typing = ((data[1] >> 5) & 3) % 3;
  o.pieces = 2 + (data[2] & 15);
  o.forcedMask = (data[2] >> 4) & 7;
  o.cut = data[3];
  o.sub = static_cast<uint8_t>(data[3] * 37);
  // the text in a heap block of its exact size: the parser's word reads must stop at its end
  const uint64_t n = size - 4;
  std::unique_ptr<char[]> text(new char[n ? n : 1]);
  std::memcpy(text.get(), data + 4, n);

  // Typing pass: one piece and many agree.
  const Result i1 = Parse(o, text.get(), n, true, {}, 1);
  const Result ik = Parse(o, text.get(), n, true, {}, o.pieces);
  CHECK(i1.st.code == ik.st.code);
  if (i1.st.ok()) {
    CHECK(i1.rows == ik.rows);
    CHECK(i1.bad == ik.bad);
    CHECK(i1.types == ik.types);
    // date orders matter for date columns only (a column that became text stops narrowing them)
    for (uint32_t j = 0; j < o.ncols; j++)
      if (csv::IsDateType(i1.types[j])) CHECK(i1.ords[j] == ik.ords[j]);
    CHECK(i1.nulls == ik.nulls);
  }

  // Parse: types from the typing pass (or all int64 / all dates: every value widens them).
  std::vector<CType> types(o.ncols, CType::STRING);
  for (uint32_t j = 0; j < o.ncols; j++) {
    if (o.typing == 1) types[j] = CType::INT64;
    else if (o.typing == 2) types[j] = CType::DATE;
    else if (i1.st.ok() && i1.types[j] != CType::NUL) types[j] = i1.types[j];
  }
  const Result p1 = Parse(o, text.get(), n, false, types, 1);
  const Result pk = Parse(o, text.get(), n, false, types, o.pieces);
  CHECK(p1.st.code == pk.st.code);
  if (!p1.st.ok()) return 0;
  CHECK(p1.rows == pk.rows);
  CHECK(p1.bad == pk.bad);
  // A forced column keeps its type and counts what does not convert; where pieces disagree on a
  // date order it keeps the first narrowing (csv_parse.h), so only unforced columns must agree.
  for (uint32_t j = 0; j < o.ncols; j++) {
    if ((o.forcedMask >> j) & 1) continue;
    CHECK(p1.types[j] == pk.types[j]);
    if (csv::IsDateType(p1.types[j])) CHECK(p1.ords[j] == pk.ords[j]);
    CHECK(p1.cols[j] == pk.cols[j]);
    if (j < p1.sub.size()) CHECK(p1.sub[j] == pk.sub[j]);
  }

  // Streamed in two buffers: the same rows and bad rows.
  uint64_t rows = 0, bad = 0;
  if (!o.strict && Streamed(o, text.get(), n, n * o.cut / 255, types, &rows, &bad)) {
    CHECK(rows == p1.rows);
    CHECK(bad == p1.bad);
  }
  return 0;
}
