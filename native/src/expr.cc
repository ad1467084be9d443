// The computed-column evaluator (expr.h): a postfix program over typed registers of kBatch rows.
#include "expr.h"

#include <charconv>
#include <deque>
#include <cmath>
#include <cstring>

namespace cdx {

namespace {

// Op codes: the same numbers as main/engine/expr-native.ts OP.
enum Code : int {
  COL = 1, LIT = 2, NUL = 3,
  ADD_I = 10, SUB_I, MUL_I, MOD_I, NEG_I, ABS_I,
  ADD_F = 20, SUB_F, MUL_F, DIV_F, MOD_F, NEG_F, ABS_F, SQRT, LN, LOG10, LOG2, EXP, POW, ROUND, FLOOR, CEIL,
  I2F = 40, F2I, B2I, I2B, F2B, SCALE_I, FLOORDIV_I,
  PART = 50, TRUNC,
  LOWER = 60, UPPER, LENGTH, SUBSTR, CONCAT, CONTAINS, STARTS, ENDS, TOSTR, STR2I, STR2F, STR2B, STR2DATE, STR2TS,
  CMP = 80, COALESCE, IFELSE, PRED,
};

// Register types.
enum VT : int { TF = 0, TI = 1, TB = 2, TS = 3 };

struct Reg {
  int t = TF;
  std::vector<double> f;
  std::vector<int64_t> i;
  std::vector<uint8_t> b;       // bool values
  std::vector<uint32_t> off;    // strings: n + 1 offsets into buf
  std::string buf;
  std::vector<uint8_t> valid;
  void Init(int type, uint32_t n) {
    t = type;
    valid.assign(n, 1);
    if (t == TF) f.resize(n);
    else if (t == TI) i.resize(n);
    else if (t == TB) b.resize(n);
    else { off.assign(n + 1, 0); buf.clear(); }
  }
  std::string_view Str(uint32_t k) const { return std::string_view(buf.data() + off[k], off[k + 1] - off[k]); }
};

inline uint32_t MapCp(const std::vector<uint32_t>& tbl, uint32_t c) {
  size_t lo = 0, hi = tbl.size() / 2;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (tbl[2 * mid] < c) lo = mid + 1; else hi = mid;
  }
  return (lo < tbl.size() / 2 && tbl[2 * lo] == c) ? tbl[2 * lo + 1] : c;
}

// One UTF-8 code point at p (n bytes left): its value and length; a malformed byte is U+FFFD, length 1.
inline uint32_t NextCp(const uint8_t* p, size_t n, int* len) {
  uint32_t c = p[0];
  int l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (l == 0 || static_cast<size_t>(l) > n) { *len = 1; return 0xFFFD; }
  if (l > 1) {
    c &= 0x3F >> (l - 1);
    for (int k = 1; k < l; k++) {
      if ((p[k] & 0xC0) != 0x80) { *len = 1; return 0xFFFD; }
      c = (c << 6) | (p[k] & 0x3F);
    }
  }
  *len = l;
  return c;
}

inline void PutCp(std::string& out, uint32_t c) {
  if (c < 0x80) out.push_back(static_cast<char>(c));
  else if (c < 0x800) { out.push_back(static_cast<char>(0xC0 | (c >> 6))); out.push_back(static_cast<char>(0x80 | (c & 0x3F))); }
  else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12))); out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18))); out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F))); out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

inline double RoundHalfAway(double x) { return x < 0 ? -std::floor(-x + 0.5) : std::floor(x + 0.5); }

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm), proleptic Gregorian.
inline void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}
inline int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}
inline int64_t FloorDiv(int64_t a, int64_t b) { int64_t q = a / b; if ((a % b != 0) && ((a < 0) != (b < 0))) q--; return q; }

// Parts: 0 year 1 quarter 2 month 3 day 4 hour 5 minute 6 second 7 weekday. `perDay` storage units
// per day (1 for a date), `perSec` per second (0 for a date).
inline int64_t Part(int64_t v, int part, int64_t perDay, int64_t perSec) {
  const int64_t days = perDay == 1 ? v : FloorDiv(v, perDay);
  if (part >= 4 && part <= 6) {
    if (perSec == 0) return 0;
    const int64_t secs = FloorDiv(v, perSec) - days * 86400;
    return part == 4 ? secs / 3600 : part == 5 ? (secs / 60) % 60 : secs % 60;
  }
  if (part == 7) return ((days % 7 + 7 + 3) % 7) + 1;  // 1970-01-01 was a Thursday (ISO 4)
  int64_t y; unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  return part == 0 ? y : part == 1 ? (m - 1) / 3 + 1 : part == 2 ? m : d;
}

// Units: 0 year 1 quarter 2 month 3 week 4 day 5 hour 6 minute 7 second.
inline int64_t Trunc(int64_t v, int unit, int64_t perDay, int64_t perSec) {
  if (unit >= 5) {
    if (perSec == 0) return v;
    const int64_t step = perSec * (unit == 5 ? 3600 : unit == 6 ? 60 : 1);
    return FloorDiv(v, step) * step;
  }
  const int64_t days = perDay == 1 ? v : FloorDiv(v, perDay);
  int64_t out;
  if (unit == 4) out = days;
  else if (unit == 3) out = days - ((days % 7 + 7 + 3) % 7);
  else {
    int64_t y; unsigned m, d;
    CivilFromDays(days, &y, &m, &d);
    if (unit == 0) m = 1;
    else if (unit == 1) m = (m - 1) / 3 * 3 + 1;
    out = DaysFromCivil(y, m, 1);
  }
  return perDay == 1 ? out : out * perDay;
}

// Text of a number as DuckDB casts it: shortest round-trip digits.
inline void F64Text(double x, std::string& out) {
  if (std::isnan(x)) { out += "nan"; return; }
  if (std::isinf(x)) { out += x > 0 ? "inf" : "-inf"; return; }
  char b[64];
  auto r = std::to_chars(b, b + sizeof b, x);
  out.append(b, r.ptr);
}

// YYYY-MM-DD[ HH:MM:SS[.fraction]] of a date (perSec 0) or a timestamp, fraction without trailing zeros.
inline void TimeText(int64_t v, int64_t perDay, int64_t perSec, std::string& out) {
  const int64_t days = perDay == 1 ? v : FloorDiv(v, perDay);
  int64_t y; unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char b[64];
  int n = std::snprintf(b, sizeof b, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  out.append(b, n);
  if (perSec == 0) return;
  const int64_t inDay = v - days * perDay;
  const int64_t secs = inDay / perSec, frac = inDay % perSec;
  n = std::snprintf(b, sizeof b, " %02lld:%02lld:%02lld", static_cast<long long>(secs / 3600), static_cast<long long>((secs / 60) % 60), static_cast<long long>(secs % 60));
  out.append(b, n);
  if (frac) {
    int digits = perSec == 1000 ? 3 : perSec == 1000000 ? 6 : 9;
    n = std::snprintf(b, sizeof b, ".%0*lld", digits, static_cast<long long>(frac));
    while (n > 1 && b[n - 1] == '0') n--;
    out.append(b, n);
  }
}

inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

inline bool ParseF64(std::string_view s, double* out) {
  s = Trim(s);
  if (s.empty()) return false;
  std::string low(s);
  for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (low == "nan") { *out = NAN; return true; }
  if (low == "inf" || low == "infinity" || low == "+inf" || low == "+infinity") { *out = INFINITY; return true; }
  if (low == "-inf" || low == "-infinity") { *out = -INFINITY; return true; }
  const char* b = low.data();
  if (*b == '+') b++;
  auto r = std::from_chars(b, low.data() + low.size(), *out);
  return r.ec == std::errc() && r.ptr == low.data() + low.size();
}

inline bool ParseTimeText(std::string_view s, bool wantDate, int64_t perSec, int64_t* out) {
  s = Trim(s);
  int y, mo, d, h = 0, mi = 0, se = 0, used = 0;
  std::string t(s);
  if (std::sscanf(t.c_str(), "%d-%d-%d%n", &y, &mo, &d, &used) != 3) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t cy; unsigned cm, cd;
  CivilFromDays(days, &cy, &cm, &cd);
  if (cd != static_cast<unsigned>(d)) return false;  // 2023-02-30
  std::string rest = t.substr(used);
  int64_t frac = 0;
  if (!rest.empty()) {
    if (wantDate) return false;
    int u2 = 0;
    if (std::sscanf(rest.c_str() + 1, "%d:%d%n", &h, &mi, &u2) != 2 || (rest[0] != ' ' && rest[0] != 'T')) return false;
    size_t p = 1 + u2;
    if (p < rest.size() && rest[p] == ':') {
      int u3 = 0;
      if (std::sscanf(rest.c_str() + p + 1, "%d%n", &se, &u3) != 1) return false;
      p += 1 + u3;
      if (p < rest.size() && rest[p] == '.') {
        p++;
        int64_t scale = perSec;
        while (p < rest.size() && std::isdigit(static_cast<unsigned char>(rest[p]))) {
          scale /= 10;
          if (scale > 0) frac += (rest[p] - '0') * scale;
          p++;
        }
      }
    }
    if (p != rest.size() || h > 23 || mi > 59 || se > 59) return false;
  }
  *out = wantDate ? days : (days * 86400 + h * 3600 + mi * 60 + se) * perSec + frac;
  return true;
}

// Chunk buffers come from a pool: a fresh allocation of this size is an mmap, and its page faults
// cost more than evaluating the chunk (bench/expr.ts measured it). A buffer goes back to the pool
// when the last view holding it lets it go, on whatever thread.
struct BufPool {
  std::mutex mu;
  std::vector<std::pair<size_t, uint8_t*>> free;  // (capacity, memory)
  ~BufPool() { for (auto& f : free) delete[] f.second; }
};
BufPool& Pool() {
  static BufPool* p = new BufPool();  // never destroyed: buffers may return during exit
  return *p;
}
std::shared_ptr<uint8_t> PoolAlloc(size_t n) {
  size_t cap = 1 << 16;
  while (cap < n) cap <<= 1;
  BufPool& P = Pool();
  uint8_t* mem = nullptr;
  {
    std::lock_guard<std::mutex> lock(P.mu);
    for (size_t i = P.free.size(); i-- > 0;) {
      if (P.free[i].first == cap) {
        mem = P.free[i].second;
        P.free[i] = P.free.back();
        P.free.pop_back();
        break;
      }
    }
  }
  if (!mem) mem = new uint8_t[cap];
  return std::shared_ptr<uint8_t>(mem, [cap](uint8_t* m) {
    BufPool& Q = Pool();
    std::lock_guard<std::mutex> lock(Q.mu);
    if (Q.free.size() < 256) Q.free.emplace_back(cap, m);
    else delete[] m;
  });
}

// Register stacks per thread and nesting level (a computed column reading another evaluates it
// inside its own evaluation): reused from chunk to chunk.
std::vector<Reg>& StackFor(int level, size_t depth) {
  // a deque: a deeper level added while an outer evaluation holds its stack moves nothing
  thread_local std::deque<std::vector<Reg>> stacks;
  if (stacks.size() <= static_cast<size_t>(level)) stacks.resize(level + 1);
  auto& st = stacks[level];
  if (st.size() < depth) st.resize(depth);
  return st;
}
thread_local int evalLevel = 0;

}  // namespace

// ---------------------------------------------------------------------------------------------

// The column layer reaches the evaluator through its hooks (columns.h ComputedHooks).
static Status ValidateComputedColumn(Column& c) {
  Status cs = c.comp->Validate();
  if (!cs.ok()) return cs;
  uint64_t n = 0;
  for (const Chunk& k : c.chunks) n += k.rows;
  for (const Column* in : c.comp->all)
    if (in->rows != n) return Status::Error("E_BAD_ARG", "computed column " + c.name + ": its input " + in->name + " has " + std::to_string(in->rows) + " rows, not " + std::to_string(n));
  return Status::Ok();
}
static void EvalComputedColumn(const Column& c, size_t chunk, View* v) { c.comp->Eval(c, chunk, v); }
[[maybe_unused]] static const bool hooksSet = [] {
  computedHooks().validate = ValidateComputedColumn;
  computedHooks().eval = EvalComputedColumn;
  return true;
}();

Status Computed::Validate() {
  all.clear();
  predStart.clear();
  for (auto& c : inputs) {
    Status st = c->Validate();
    if (!st.ok()) return st;
    all.push_back(c.get());
  }
  for (auto& p : preds) {
    Status st = p->Prepare();
    if (!st.ok()) return st;
    predStart.push_back(all.size());
    for (auto& c : p->cols) all.push_back(c.get());
  }
  dicts.clear();
  dicts.resize(all.size());
  for (size_t k = 0; k < inputs.size(); k++) {
    if (all[k]->kind == Kind::DICT) {
      dicts[k] = std::make_unique<StringColumnReader>();
      dicts[k]->Bind(*all[k]->dict);
    }
  }
  return Status::Ok();
}

void Computed::Eval(const Column& self, size_t k, View* v) const {
  const Chunk& ch = self.chunks[k];
  const uint64_t rows = ch.rows, r0 = ch.rowStart;
  const size_t vb = (rows + 7) / 8;
  auto bindKept = [&](const Kept& e) {
    uint8_t* p = e.buf.get();
    v->own = e.buf;
    v->data = p;
    v->validity = e.anyNull ? p + e.dataBytes : nullptr;
    v->vbit = 0;
    v->offsets = p + e.dataBytes + vb;
    v->rowStart = ch.rowStart;
    v->dataLen = e.dataBytes;
  };
  {
    // a chunk evaluated before: kept (text always; numbers once a chunk is asked for twice, i.e.
    // read at random rows — a gather through a sort's permutation or a join's pairs — up to a budget)
    std::lock_guard<std::mutex> lock(keptMu);
    if (kept.size() < self.chunks.size()) { kept.resize(self.chunks.size()); seen.resize(self.chunks.size(), 0); }
    if (kept[k].buf) { bindKept(kept[k]); return; }
    if (seen[k]) keepAll = true;
    seen[k] = 1;
  }
  const size_t vbytes = vb;
  bool anyNull = false;
  std::vector<uint32_t> outOff;
  std::string outStr;
  const size_t width = out == VOut::F64 || out == VOut::I64 ? 8 : out == VOut::I32 ? 4 : 0;
  // fixed-width results go straight into the chunk's buffer: data | validity (all valid until a null)
  const size_t fixedBytes = out == VOut::BOOL ? vbytes : rows * width;
  std::shared_ptr<uint8_t> fixed;
  uint8_t* data = nullptr;
  uint8_t* validity = nullptr;
  if (out != VOut::STR) {
    fixed = PoolAlloc(fixedBytes + vbytes + 8);
    data = fixed.get();
    validity = data + fixedBytes;
    std::memset(validity, 0xFF, vbytes);
    if (out == VOut::BOOL) std::memset(data, 0, vbytes);
  } else {
    outOff.assign(rows + 1, 0);
  }
  std::vector<uint8_t> strValidity(out == VOut::STR ? vbytes : 0, 0xFF);
  struct Level {
    Level() { evalLevel++; }
    ~Level() { evalLevel--; }
  } level;
  std::vector<Reg>& stack = StackFor(evalLevel, static_cast<size_t>(std::max(depth, 1)));
  std::vector<View> views(all.size());
  std::vector<uint64_t> vend(all.size(), 0);  // global end row of each bound view
  FilterScratch fs;
  bool fsInit = false;

  for (uint64_t r = r0; r < r0 + rows;) {
    // bind every column at row r; the batch ends where the first of them ends
    uint64_t end = std::min<uint64_t>(r0 + rows, r + kBatch);
    for (size_t c = 0; c < all.size(); c++) {
      if (r >= vend[c] || r < views[c].rowStart) {
        views[c].Bind(*all[c], all[c]->ChunkOf(r));
        vend[c] = views[c].rowStart + views[c].chunk->rows;
      }
      end = std::min(end, vend[c]);
    }
    const uint32_t n = static_cast<uint32_t>(end - r);
    if (n == 0) break;  // an input shorter than the computed column (not possible when validated)
    int sp = 0;
    bool written = false;  // the result is in the chunk's buffer already
    for (size_t pc = 0; pc < code.size(); pc++) {
      const VOp& op = code[pc];
      switch (op.code) {
        case COL: {
          Reg& o = stack[sp++];
          const View& cv = views[op.a];
          const Column& col = *all[op.a];
          const uint64_t local = r - cv.rowStart;
          o.Init(op.b, n);
          if (!ValidityBytes(cv, local, n, o.valid.data())) std::memset(o.valid.data(), 1, n);
          if (op.b == TS) {
            for (uint32_t i = 0; i < n; i++) {
              const uint8_t* p = nullptr; uint64_t len = 0;
              if (o.valid[i]) {
                bool ok = true;
                if (col.kind == Kind::DICT) {
                  const int64_t di = DictIndex(cv, local + i);
                  ok = di >= 0 && dicts[op.a]->Get(static_cast<uint64_t>(di), &p, &len);
                } else ok = StringAt(cv, local + i, &p, &len);
                if (!ok || !p) { o.valid[i] = 0; len = 0; }
                if (len) o.buf.append(reinterpret_cast<const char*>(p), len);
              }
              o.off[i + 1] = static_cast<uint32_t>(o.buf.size());
            }
          } else if (op.b == TF) {
            // `x * c1 ± c2` right after a float64 column: one pass from the mapping (the same
            // operations in the same order: the same bits as the ops one by one)
            size_t look = pc + 1;
            double mul = 1, add = 0;
            bool hasMul = false, hasAdd = false;
            if (look < code.size() && code[look].code == MUL_F && code[look].b == 1) { mul = code[look].f; hasMul = true; look++; }
            if (look < code.size() && (code[look].code == ADD_F || code[look].code == SUB_F) && code[look].b == 1) {
              add = code[look].code == ADD_F ? code[look].f : -code[look].f;
              hasAdd = true;
              look++;
            }
            if ((hasMul || hasAdd) && col.kind == Kind::NUMERIC && col.dtype == DType::F64 && !col.swap) {
              const double* src = reinterpret_cast<const double*>(cv.data + local * 8);
              double* dst = o.f.data();
              // the whole program (a float64 column scaled and shifted, the commonest computed
              // column): straight into the chunk's buffer, not through a register and a copy
              if (look == code.size() && sp == 1 && out == VOut::F64) {
                dst = reinterpret_cast<double*>(data + (r - r0) * 8);
                written = true;
              }
              if (hasMul && hasAdd) for (uint32_t i = 0; i < n; i++) dst[i] = src[i] * mul + add;
              else if (hasMul) for (uint32_t i = 0; i < n; i++) dst[i] = src[i] * mul;
              else for (uint32_t i = 0; i < n; i++) dst[i] = src[i] + add;
              pc = look - 1;
            } else {
              DecodeF64(cv, local, n, o.f.data());
            }
          } else {
            o.i.resize(n);
            DecodeI64(cv, local, n, o.i.data());
            if (op.b == TB) for (uint32_t i = 0; i < n; i++) o.b[i] = o.i[i] != 0;
          }
          break;
        }
        case LIT: {
          Reg& o = stack[sp++];
          o.Init(op.a, n);
          if (op.a == TF) std::fill(o.f.begin(), o.f.end(), op.f);
          else if (op.a == TI) std::fill(o.i.begin(), o.i.end(), op.i);
          else if (op.a == TB) std::fill(o.b.begin(), o.b.end(), static_cast<uint8_t>(op.i != 0));
          else {
            for (uint32_t i = 0; i < n; i++) { o.buf += op.s; o.off[i + 1] = static_cast<uint32_t>(o.buf.size()); }
          }
          break;
        }
        case NUL: {
          Reg& o = stack[sp++];
          o.Init(op.a, n);
          std::fill(o.valid.begin(), o.valid.end(), 0);
          break;
        }
        case ADD_I: case SUB_I: case MUL_I: case MOD_I: {
          // op.b = 1: the right operand is the constant op.i (no register)
          const bool imm = op.b == 1;
          Reg& a = stack[sp - (imm ? 1 : 2)];
          const Reg* bp = imm ? nullptr : &stack[sp - 1];
          for (uint32_t i = 0; i < n; i++) {
            if (bp) a.valid[i] &= bp->valid[i];
            const int64_t x = a.i[i], y = bp ? bp->i[i] : op.i;
            int64_t z = 0; bool bad = false;
            switch (op.code) {
              case ADD_I: bad = __builtin_add_overflow(x, y, &z); break;
              case SUB_I: bad = __builtin_sub_overflow(x, y, &z); break;
              case MUL_I: bad = __builtin_mul_overflow(x, y, &z); break;
              default: bad = y == 0; z = bad ? 0 : (y == -1 ? 0 : x % y); break;
            }
            a.i[i] = z;
            if (bad) a.valid[i] = 0;
          }
          if (!imm) sp--;
          break;
        }
        case NEG_I: case ABS_I: {
          Reg& a = stack[sp - 1];
          for (uint32_t i = 0; i < n; i++) {
            if (a.i[i] == INT64_MIN) { a.valid[i] = 0; continue; }
            if (op.code == NEG_I || a.i[i] < 0) a.i[i] = -a.i[i];
          }
          break;
        }
        case ADD_F: case SUB_F: case MUL_F: case DIV_F: case MOD_F: case POW: {
          // op.b = 1: the right operand is the constant op.f (no register)
          const bool imm = op.b == 1;
          Reg& a = stack[sp - (imm ? 1 : 2)];
          double* x = a.f.data();
          if (imm) {
            const double c = op.f;
            switch (op.code) {
              case ADD_F: for (uint32_t i = 0; i < n; i++) x[i] += c; break;
              case SUB_F: for (uint32_t i = 0; i < n; i++) x[i] -= c; break;
              case MUL_F: for (uint32_t i = 0; i < n; i++) x[i] *= c; break;
              case DIV_F: if (c == 0) std::memset(a.valid.data(), 0, n); else for (uint32_t i = 0; i < n; i++) x[i] /= c; break;
              case MOD_F: if (c == 0) std::memset(a.valid.data(), 0, n); else for (uint32_t i = 0; i < n; i++) x[i] = std::fmod(x[i], c); break;
              default: for (uint32_t i = 0; i < n; i++) x[i] = std::pow(x[i], c); break;
            }
            break;
          }
          const Reg& b = stack[sp - 1];
          const double* y = b.f.data();
          switch (op.code) {
            case ADD_F: for (uint32_t i = 0; i < n; i++) x[i] += y[i]; break;
            case SUB_F: for (uint32_t i = 0; i < n; i++) x[i] -= y[i]; break;
            case MUL_F: for (uint32_t i = 0; i < n; i++) x[i] *= y[i]; break;
            case DIV_F: for (uint32_t i = 0; i < n; i++) { if (y[i] == 0) a.valid[i] = 0; else x[i] /= y[i]; } break;
            case MOD_F: for (uint32_t i = 0; i < n; i++) { if (y[i] == 0) a.valid[i] = 0; else x[i] = std::fmod(x[i], y[i]); } break;
            default: for (uint32_t i = 0; i < n; i++) x[i] = std::pow(x[i], y[i]); break;
          }
          for (uint32_t i = 0; i < n; i++) a.valid[i] &= b.valid[i];
          sp--;
          break;
        }
        case NEG_F: case ABS_F: case SQRT: case LN: case LOG10: case LOG2: case EXP: case FLOOR: case CEIL: {
          Reg& a = stack[sp - 1];
          double* x = a.f.data();
          for (uint32_t i = 0; i < n; i++) {
            const double v0 = x[i];
            switch (op.code) {
              case NEG_F: x[i] = -v0; break;
              case ABS_F: x[i] = std::fabs(v0); break;
              case SQRT: if (v0 < 0) a.valid[i] = 0; else x[i] = std::sqrt(v0); break;
              case LN: if (v0 <= 0) a.valid[i] = 0; else x[i] = std::log(v0); break;
              case LOG10: if (v0 <= 0) a.valid[i] = 0; else x[i] = std::log10(v0); break;
              case LOG2: if (v0 <= 0) a.valid[i] = 0; else x[i] = std::log2(v0); break;
              case EXP: x[i] = std::exp(v0); break;
              case FLOOR: x[i] = std::floor(v0); break;
              default: x[i] = std::ceil(v0); break;
            }
          }
          break;
        }
        case ROUND: {
          // a = 1: the digits are on the stack (int); else op.i digits
          Reg& a = stack[sp - 1 - op.a];
          const Reg* dg = op.a ? &stack[sp - 1] : nullptr;
          for (uint32_t i = 0; i < n; i++) {
            const int64_t d = dg ? dg->i[i] : op.i;
            if (dg && !dg->valid[i]) { a.valid[i] = 0; continue; }
            const double x = a.f[i];
            if (!std::isfinite(x)) continue;
            if (d >= 0) { const double p = std::pow(10.0, static_cast<double>(std::min<int64_t>(d, 308))); a.f[i] = RoundHalfAway(x * p) / p; }
            else { const double p = std::pow(10.0, static_cast<double>(std::min<int64_t>(-d, 308))); a.f[i] = RoundHalfAway(x / p) * p; }
          }
          sp -= op.a;
          break;
        }
        case I2F: {
          Reg& a = stack[sp - 1];
          a.f.resize(n);
          if (a.t == TB) for (uint32_t i = 0; i < n; i++) a.f[i] = a.b[i];
          else for (uint32_t i = 0; i < n; i++) a.f[i] = static_cast<double>(a.i[i]);
          a.t = TF;
          break;
        }
        case F2I: {
          Reg& a = stack[sp - 1];
          a.i.resize(n);
          for (uint32_t i = 0; i < n; i++) {
            const double x = RoundHalfAway(a.f[i]);
            if (!std::isfinite(x) || x < -9223372036854775808.0 || x >= 9223372036854775808.0) { a.valid[i] = 0; a.i[i] = 0; }
            else a.i[i] = static_cast<int64_t>(x);
          }
          a.t = TI;
          break;
        }
        case B2I: {
          Reg& a = stack[sp - 1];
          a.i.resize(n);
          for (uint32_t i = 0; i < n; i++) a.i[i] = a.b[i];
          a.t = TI;
          break;
        }
        case I2B: case F2B: {
          Reg& a = stack[sp - 1];
          a.b.resize(n);
          for (uint32_t i = 0; i < n; i++) a.b[i] = op.code == I2B ? a.i[i] != 0 : a.f[i] != 0;
          a.t = TB;
          break;
        }
        case SCALE_I: {
          Reg& a = stack[sp - 1];
          for (uint32_t i = 0; i < n; i++) if (__builtin_mul_overflow(a.i[i], op.i, &a.i[i])) a.valid[i] = 0;
          break;
        }
        case FLOORDIV_I: {
          Reg& a = stack[sp - 1];
          for (uint32_t i = 0; i < n; i++) a.i[i] = FloorDiv(a.i[i], op.i);
          break;
        }
        case PART: case TRUNC: {
          // op.a = part / unit, op.i = units per day, op.f = units per second (0: a date)
          Reg& a = stack[sp - 1];
          const int64_t perSec = static_cast<int64_t>(op.f);
          for (uint32_t i = 0; i < n; i++)
            if (a.valid[i]) a.i[i] = op.code == PART ? Part(a.i[i], op.a, op.i, perSec) : Trunc(a.i[i], op.a, op.i, perSec);
          break;
        }
        case LOWER: case UPPER: {
          Reg& a = stack[sp - 1];
          const std::vector<uint32_t>& tbl = op.code == LOWER ? lower : upper;
          std::string nb;
          nb.reserve(a.buf.size());
          std::vector<uint32_t> no(n + 1, 0);
          for (uint32_t i = 0; i < n; i++) {
            const std::string_view s = a.Str(i);
            const auto* p = reinterpret_cast<const uint8_t*>(s.data());
            for (size_t j = 0; j < s.size();) {
              const uint8_t c0 = p[j];
              if (c0 < 0x80) {
                char c = static_cast<char>(c0);
                if (op.code == LOWER && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
                else if (op.code == UPPER && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
                nb.push_back(c);
                j++;
                continue;
              }
              int len;
              const uint32_t cp = NextCp(p + j, s.size() - j, &len);
              PutCp(nb, MapCp(tbl, cp));
              j += len;
            }
            no[i + 1] = static_cast<uint32_t>(nb.size());
          }
          a.buf.swap(nb);
          a.off.swap(no);
          break;
        }
        case LENGTH: {
          Reg& a = stack[sp - 1];
          std::vector<int64_t> len(n);
          for (uint32_t i = 0; i < n; i++) {
            const std::string_view s = a.Str(i);
            int64_t c = 0;
            for (unsigned char ch : s) c += (ch & 0xC0) != 0x80;
            len[i] = c;
          }
          a.i.swap(len);
          a.t = TI;
          break;
        }
        case SUBSTR: {
          // op.a = 2 or 3 arguments: s, start[, length]
          Reg& a = stack[sp - op.a];
          const Reg& st = stack[sp - op.a + 1];
          const Reg* ln = op.a == 3 ? &stack[sp - 1] : nullptr;
          std::string nb;
          std::vector<uint32_t> no(n + 1, 0);
          for (uint32_t i = 0; i < n; i++) {
            a.valid[i] &= st.valid[i] & (ln ? ln->valid[i] : 1);
            if (a.valid[i]) {
              const std::string_view s = a.Str(i);
              const int64_t start = st.i[i];
              const int64_t lo = std::max<int64_t>(start, 1);
              int64_t hi = INT64_MAX;
              if (ln) hi = ln->i[i] <= 0 ? start : (start > INT64_MAX - ln->i[i] ? INT64_MAX : start + ln->i[i]);
              int64_t pos = 1;
              for (size_t j = 0; j < s.size() && pos < hi;) {
                int l = 1;
                while (j + l < s.size() && (static_cast<unsigned char>(s[j + l]) & 0xC0) == 0x80) l++;
                if (pos >= lo) nb.append(s.data() + j, l);
                j += l;
                pos++;
              }
            }
            no[i + 1] = static_cast<uint32_t>(nb.size());
          }
          a.buf.swap(nb);
          a.off.swap(no);
          sp -= op.a - 1;
          break;
        }
        case CONCAT: {
          // op.a arguments (strings); op.b = 1: a null reads as '' (concat()), else null in, null out (||)
          const int na = op.a;
          Reg& a = stack[sp - na];
          std::string nb;
          std::vector<uint32_t> no(n + 1, 0);
          for (uint32_t i = 0; i < n; i++) {
            bool valid = true;
            for (int k = 0; k < na; k++) if (!stack[sp - na + k].valid[i]) valid = false;
            if (op.b) valid = true;
            if (valid) for (int k = 0; k < na; k++) {
              const Reg& x = stack[sp - na + k];
              if (x.valid[i]) nb.append(x.Str(i));
            }
            a.valid[i] = valid;
            no[i + 1] = static_cast<uint32_t>(nb.size());
          }
          a.buf.swap(nb);
          a.off.swap(no);
          sp -= na - 1;
          break;
        }
        case CONTAINS: case STARTS: case ENDS: {
          Reg& a = stack[sp - 2]; const Reg& b = stack[sp - 1];
          std::vector<uint8_t> r(n, 0);
          for (uint32_t i = 0; i < n; i++) {
            a.valid[i] &= b.valid[i];
            if (!a.valid[i]) continue;
            const std::string_view s = a.Str(i), t = b.Str(i);
            r[i] = op.code == CONTAINS ? s.find(t) != std::string_view::npos
                 : op.code == STARTS ? (s.size() >= t.size() && s.compare(0, t.size(), t) == 0)
                 : (s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
          }
          a.b.swap(r);
          a.t = TB;
          sp--;
          break;
        }
        case TOSTR: {
          // op.a = source type; for dates/timestamps op.i = units per day, op.f = per second (0: date), op.b = 1
          Reg& a = stack[sp - 1];
          std::string nb;
          std::vector<uint32_t> no(n + 1, 0);
          char b[32];
          for (uint32_t i = 0; i < n; i++) {
            if (a.valid[i]) {
              if (op.b) TimeText(a.i[i], op.i, static_cast<int64_t>(op.f), nb);
              else if (a.t == TI) { auto r2 = std::to_chars(b, b + sizeof b, a.i[i]); nb.append(b, r2.ptr); }
              else if (a.t == TF) F64Text(a.f[i], nb);
              else if (a.t == TB) nb += a.b[i] ? "true" : "false";
              else nb.append(a.Str(i));
            }
            no[i + 1] = static_cast<uint32_t>(nb.size());
          }
          a.buf.swap(nb);
          a.off.swap(no);
          a.t = TS;
          break;
        }
        case STR2I: case STR2F: case STR2B: case STR2DATE: case STR2TS: {
          Reg& a = stack[sp - 1];
          std::vector<int64_t> iv(n, 0);
          std::vector<double> fv(n, 0);
          std::vector<uint8_t> bv(n, 0);
          for (uint32_t i = 0; i < n; i++) {
            if (!a.valid[i]) continue;
            const std::string_view s = Trim(a.Str(i));
            bool ok = false;
            if (op.code == STR2I) {
              int64_t x = 0;
              const char* beg = s.data() + (!s.empty() && s[0] == '+');
              auto r2 = std::from_chars(beg, s.data() + s.size(), x);
              if (r2.ec == std::errc() && r2.ptr == s.data() + s.size() && !s.empty()) { iv[i] = x; ok = true; }
              else {
                double d;
                if (ParseF64(s, &d) && std::isfinite(d)) {
                  const double rd = RoundHalfAway(d);
                  if (rd >= -9223372036854775808.0 && rd < 9223372036854775808.0) { iv[i] = static_cast<int64_t>(rd); ok = true; }
                }
              }
            } else if (op.code == STR2F) {
              ok = ParseF64(s, &fv[i]);
            } else if (op.code == STR2B) {
              std::string low(s);
              for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
              if (low == "true" || low == "t" || low == "1") { bv[i] = 1; ok = true; }
              else if (low == "false" || low == "f" || low == "0") { bv[i] = 0; ok = true; }
            } else {
              ok = ParseTimeText(s, op.code == STR2DATE, op.i, &iv[i]);
            }
            if (!ok) a.valid[i] = 0;
          }
          if (op.code == STR2F) { a.f.swap(fv); a.t = TF; }
          else if (op.code == STR2B) { a.b.swap(bv); a.t = TB; }
          else { a.i.swap(iv); a.t = TI; }
          break;
        }
        case CMP: {
          // op.a = 0 '=', 1 '!=', 2 '<', 3 '<=', 4 '>', 5 '>='
          Reg& a = stack[sp - 2]; const Reg& b = stack[sp - 1];
          std::vector<uint8_t> r(n, 0);
          for (uint32_t i = 0; i < n; i++) {
            a.valid[i] &= b.valid[i];
            if (!a.valid[i]) continue;
            int c;  // -1, 0, 1, or 2 for unordered (NaN)
            if (a.t == TF) {
              const double x = a.f[i], y = b.f[i];
              c = (std::isnan(x) || std::isnan(y)) ? 2 : x < y ? -1 : x > y ? 1 : 0;
            } else if (a.t == TI) c = a.i[i] < b.i[i] ? -1 : a.i[i] > b.i[i] ? 1 : 0;
            else if (a.t == TB) c = a.b[i] < b.b[i] ? -1 : a.b[i] > b.b[i] ? 1 : 0;
            else { const int k2 = a.Str(i).compare(b.Str(i)); c = k2 < 0 ? -1 : k2 > 0 ? 1 : 0; }
            bool res;
            if (c == 2) res = op.a == 1;
            else switch (op.a) {
              case 0: res = c == 0; break;
              case 1: res = c != 0; break;
              case 2: res = c < 0; break;
              case 3: res = c <= 0; break;
              case 4: res = c > 0; break;
              default: res = c >= 0; break;
            }
            r[i] = res;
          }
          a.b.swap(r);
          a.t = TB;
          sp--;
          break;
        }
        case COALESCE: {
          const int na = op.a;
          Reg& a = stack[sp - na];
          for (int k = 1; k < na; k++) {
            const Reg& x = stack[sp - na + k];
            if (a.t == TS) {
              std::string nb;
              std::vector<uint32_t> no(n + 1, 0);
              for (uint32_t i = 0; i < n; i++) {
                if (a.valid[i]) nb.append(a.Str(i));
                else if (x.valid[i]) { nb.append(x.Str(i)); a.valid[i] = 1; }
                no[i + 1] = static_cast<uint32_t>(nb.size());
              }
              a.buf.swap(nb);
              a.off.swap(no);
              continue;
            }
            for (uint32_t i = 0; i < n; i++) {
              if (a.valid[i] || !x.valid[i]) continue;
              a.valid[i] = 1;
              if (a.t == TF) a.f[i] = x.f[i]; else if (a.t == TI) a.i[i] = x.i[i]; else a.b[i] = x.b[i];
            }
          }
          sp -= na - 1;
          break;
        }
        case IFELSE: {
          // stack: cond, then, else → then where cond is true, else otherwise
          Reg& c = stack[sp - 3];
          Reg& t = stack[sp - 2];
          Reg& e = stack[sp - 1];
          std::vector<uint8_t> pick(n);
          for (uint32_t i = 0; i < n; i++) pick[i] = c.valid[i] && c.b[i];
          Reg& o = c;
          o.t = t.t;
          if (t.t == TS) {
            std::string nb;
            std::vector<uint32_t> no(n + 1, 0);
            for (uint32_t i = 0; i < n; i++) {
              const Reg& s = pick[i] ? t : e;
              o.valid[i] = s.valid[i];
              if (s.valid[i]) nb.append(s.Str(i));
              no[i + 1] = static_cast<uint32_t>(nb.size());
            }
            o.buf.swap(nb);
            o.off.swap(no);
          } else {
            if (t.t == TF) o.f.resize(n); else if (t.t == TI) o.i.resize(n);
            std::vector<uint8_t> nbv(n);
            for (uint32_t i = 0; i < n; i++) {
              const Reg& s = pick[i] ? t : e;
              o.valid[i] = s.valid[i];
              if (t.t == TF) o.f[i] = s.f[i]; else if (t.t == TI) o.i[i] = s.i[i]; else nbv[i] = s.b[i];
            }
            if (t.t == TB) o.b.swap(nbv);
          }
          sp -= 2;
          break;
        }
        case PRED: {
          const Filter& f = *preds[op.a];
          if (!fsInit) {
            int d = 1;
            for (auto& p : preds) d = std::max(d, p->depth);
            fs.Init(d);
            fsInit = true;
          }
          const uint8_t* tri = f.EvalTri(views.data() + predStart[op.a], r, n, fs);
          Reg& o = stack[sp++];
          o.Init(TB, n);
          for (uint32_t i = 0; i < n; i++) { o.b[i] = tri[i] == 2; o.valid[i] = tri[i] != 1; }
          break;
        }
        default:
          break;
      }
    }
    // the result: top of the stack into the chunk's buffers
    const Reg& res = stack[0];
    const uint64_t base = r - r0;
    if (std::memchr(res.valid.data(), 0, n)) {
      anyNull = true;
      uint8_t* vm = validity ? validity : strValidity.data();
      for (uint32_t i = 0; i < n; i++)
        if (!res.valid[i]) vm[(base + i) >> 3] &= static_cast<uint8_t>(~(1u << ((base + i) & 7)));
    }
    switch (out) {
      case VOut::F64: if (!written) std::memcpy(data + base * 8, res.t == TF ? static_cast<const void*>(res.f.data()) : res.i.data(), n * 8); break;
      case VOut::I64: std::memcpy(data + base * 8, res.i.data(), n * 8); break;
      case VOut::I32: {
        int32_t* d = reinterpret_cast<int32_t*>(data) + base;
        for (uint32_t i = 0; i < n; i++) d[i] = static_cast<int32_t>(res.i[i]);
        break;
      }
      case VOut::BOOL:
        for (uint32_t i = 0; i < n; i++)
          if (res.b[i]) data[(base + i) >> 3] |= static_cast<uint8_t>(1u << ((base + i) & 7));
        break;
      case VOut::STR: {
        const uint32_t start = static_cast<uint32_t>(outStr.size());
        outStr.append(res.buf);
        for (uint32_t i = 0; i < n; i++) outOff[base + i + 1] = start + res.off[i + 1];
        break;
      }
    }
    r = end;
  }
  if (out != VOut::STR) {
    v->own = fixed;
    v->data = data;
    v->validity = anyNull ? validity : nullptr;
    v->vbit = 0;
    v->offsets = nullptr;
    v->rowStart = ch.rowStart;
    v->dataLen = fixedBytes;
    std::lock_guard<std::mutex> lock(keptMu);
    if (keepAll && !kept[k].buf && keptBytes + fixedBytes + vbytes <= kKeepBudget) {
      kept[k] = Kept{fixed, fixedBytes, anyNull};
      keptBytes += fixedBytes + vbytes;
    }
    return;
  }
  // text: one buffer, data | validity | offsets
  const size_t dataBytes = outStr.size();
  const size_t offBytes = outOff.size() * 4;
  auto buf = PoolAlloc(dataBytes + vbytes + offBytes + 8);
  uint8_t* p = buf.get();
  if (dataBytes) std::memcpy(p, outStr.data(), dataBytes);
  std::memcpy(p + dataBytes, strValidity.data(), vbytes);
  std::memcpy(p + dataBytes + vbytes, outOff.data(), offBytes);
  v->own = buf;
  v->data = p;
  v->validity = anyNull ? p + dataBytes : nullptr;
  v->vbit = 0;
  v->offsets = p + dataBytes + vbytes;
  v->rowStart = ch.rowStart;
  v->dataLen = dataBytes;
  if (out == VOut::STR) {
    std::lock_guard<std::mutex> lock(keptMu);
    if (!kept[k].buf) kept[k] = Kept{buf, dataBytes, anyNull};
    else bindKept(kept[k]);  // another thread evaluated it meanwhile: one copy, the kept one
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing (JS thread)

template <class T>
static bool GetTypedArr(const Napi::Object& o, const char* key, std::vector<T>* out, Status* st) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsTypedArray()) { *st = Status::Error("E_BAD_ARG", std::string("computed: ") + key + " must be a typed array"); return false; }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.ElementSize() != sizeof(T)) { *st = Status::Error("E_BAD_ARG", std::string("computed: bad ") + key); return false; }
  const T* d = reinterpret_cast<const T*>(static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  out->assign(d, d + ta.ElementLength());
  return true;
}

bool ParseComputed(const Napi::Value& v, Column* c, Status* st) {
  if (!v.IsObject()) { *st = Status::Error("E_BAD_ARG", "computed must be an object"); return false; }
  Napi::Object o = v.As<Napi::Object>();
  auto comp = std::make_shared<Computed>();
  std::string out;
  if (!GetStr(o, "out", &out, st)) return false;
  if (out == "f64") comp->out = VOut::F64;
  else if (out == "i64") comp->out = VOut::I64;
  else if (out == "i32") comp->out = VOut::I32;
  else if (out == "bool") comp->out = VOut::BOOL;
  else if (out == "str") comp->out = VOut::STR;
  else { *st = Status::Error("E_BAD_ARG", "computed: bad out " + out); return false; }
  Napi::Value iv = o.Get("inputs"), cv = o.Get("code"), pv = o.Get("preds");
  if (!iv.IsArray() || !cv.IsArray()) { *st = Status::Error("E_BAD_ARG", "computed needs inputs and code"); return false; }
  Napi::Array ia = iv.As<Napi::Array>();
  for (uint32_t k = 0; k < ia.Length(); k++) {
    ColumnPtr in;
    if (!ParseColumn(ia.Get(k), &in, st)) return false;
    comp->inputs.push_back(in);
  }
  if (pv.IsArray()) {
    Napi::Array pa = pv.As<Napi::Array>();
    for (uint32_t k = 0; k < pa.Length(); k++) {
      auto f = std::make_shared<Filter>();
      if (!f->Parse(pa.Get(k), st)) return false;
      comp->preds.push_back(f);
    }
  }
  // the column indices of COL ops count inputs then each predicate's columns
  size_t nAll = comp->inputs.size();
  for (auto& p : comp->preds) nAll += p->cols.size();
  Napi::Array ca = cv.As<Napi::Array>();
  int d = 0;
  for (uint32_t k = 0; k < ca.Length(); k++) {
    Napi::Value ev = ca.Get(k);
    if (!ev.IsObject()) { *st = Status::Error("E_BAD_ARG", "computed: bad op"); return false; }
    Napi::Object e = ev.As<Napi::Object>();
    VOp op;
    uint64_t u = 0;
    if (!GetU64(e, "op", &u, st)) return false;
    op.code = static_cast<int>(u);
    double x = 0;
    if (GetF64(e, "a", &x, st, false)) op.a = static_cast<int>(x);
    if (GetF64(e, "b", &x, st, false)) op.b = static_cast<int>(x);
    GetF64(e, "f", &op.f, st, false);
    Napi::Value iv2 = e.Get("i");
    if (iv2.IsString()) op.i = std::strtoll(iv2.As<Napi::String>().Utf8Value().c_str(), nullptr, 10);
    else if (iv2.IsNumber()) op.i = static_cast<int64_t>(iv2.As<Napi::Number>().DoubleValue());
    GetStr(e, "s", &op.s, st, false);
    *st = Status::Ok();
    // stack effect, checked so that a malformed program cannot read outside the stack
    int pop = 0, push = 1;
    switch (op.code) {
      case COL:
        if (op.a < 0 || static_cast<size_t>(op.a) >= comp->inputs.size()) { *st = Status::Error("E_BAD_ARG", "computed: column index out of range"); return false; }
        break;
      case LIT: case NUL: break;
      case PRED:
        if (op.a < 0 || static_cast<size_t>(op.a) >= comp->preds.size()) { *st = Status::Error("E_BAD_ARG", "computed: predicate index out of range"); return false; }
        break;
      case ADD_I: case SUB_I: case MUL_I: case MOD_I: case ADD_F: case SUB_F: case MUL_F: case DIV_F: case MOD_F: case POW:
        pop = op.b == 1 ? 1 : 2;
        break;
      case CONTAINS: case STARTS: case ENDS: case CMP: pop = 2; break;
      case ROUND: pop = 1 + (op.a ? 1 : 0); break;
      case SUBSTR: if (op.a != 2 && op.a != 3) { *st = Status::Error("E_BAD_ARG", "computed: substr arity"); return false; } pop = op.a; break;
      case CONCAT: case COALESCE: if (op.a < 1 || op.a > 64) { *st = Status::Error("E_BAD_ARG", "computed: arity"); return false; } pop = op.a; break;
      case IFELSE: pop = 3; break;
      case PART: case TRUNC:
        if (op.i < 1) { *st = Status::Error("E_BAD_ARG", "computed: units per day"); return false; }
        pop = 1;
        break;
      case FLOORDIV_I: if (op.i == 0) { *st = Status::Error("E_BAD_ARG", "computed: division by zero"); return false; } pop = 1; break;
      default:
        if ((op.code >= NEG_I && op.code <= ABS_I) || (op.code >= NEG_F && op.code <= CEIL) || (op.code >= I2F && op.code <= SCALE_I) ||
            op.code == LOWER || op.code == UPPER || op.code == LENGTH || (op.code >= TOSTR && op.code <= STR2TS)) {
          pop = 1;
          break;
        }
        *st = Status::Error("E_BAD_ARG", "computed: unknown op " + std::to_string(op.code));
        return false;
    }
    if (pop > d) { *st = Status::Error("E_BAD_ARG", "computed: malformed program"); return false; }
    d += push - pop;
    comp->depth = std::max(comp->depth, d);
    comp->code.push_back(std::move(op));
  }
  if (d != 1) { *st = Status::Error("E_BAD_ARG", "computed: malformed program"); return false; }
  (void)nAll;
  if (!GetTypedArr<uint32_t>(o, "lower", &comp->lower, st) || !GetTypedArr<uint32_t>(o, "upper", &comp->upper, st)) return false;
  c->comp = comp;
  return true;
}

}  // namespace cdx
