// Evaluation of compiled filter programs (see filter.h).
#include "filter.h"

#include <cstdlib>

#include "bin_simd.h"

#include <algorithm>
#include <string_view>

namespace cdx {

void FilterScratch::Init(int depth) {
  stack.assign(static_cast<size_t>(std::max(depth, 1)) * kBatch, 0);
  a.resize(kBatch); b.resize(kBatch); ld.resize(kBatch);
  va.resize(kBatch); vb.resize(kBatch);
}

static int CmpCode(const std::string& s) {
  static const char* k[] = {"=", "!=", "<", "<=", ">", ">="};
  for (int i = 0; i < 6; i++) if (s == k[i]) return i;
  return -1;
}

static bool ParseLit(const Napi::Value& v, FOp* op, bool* isNull, long double* num, std::string* str, bool* isStr, Status* st) {
  *isNull = false; *isStr = false;
  if (!v.IsObject()) { *st = Status::Error("E_BAD_ARG", "bad literal"); return false; }
  Napi::Object o = v.As<Napi::Object>();
  std::string t;
  if (!GetStr(o, "t", &t, st)) return false;
  Napi::Value x = o.Get("v");
  if (t == "null") { *isNull = true; return true; }
  if (t == "num") { if (!x.IsNumber()) goto bad; *num = x.As<Napi::Number>().DoubleValue(); return true; }
  if (t == "int") {
    if (!x.IsString()) goto bad;
    if (op) op->exactLit = true;
    std::string d = x.As<Napi::String>().Utf8Value();
    char* end = nullptr;
    *num = std::strtold(d.c_str(), &end);
    if (d.empty() || *end) goto bad;
    return true;
  }
  if (t == "str") { if (!x.IsString()) goto bad; *str = x.As<Napi::String>().Utf8Value(); *isStr = true; return true; }
bad:
  *st = Status::Error("E_BAD_ARG", "bad literal of type " + t);
  return false;
}

// Reads an optional typed array of element type T (Int32Array / Uint32Array) into `out`.
template <class T>
static bool GetTyped(const Napi::Object& o, const char* key, napi_typedarray_type type, std::vector<T>* out, Status* st) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return true;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    *st = Status::Error("E_BAD_ARG", std::string("str needs ") + key + " as a typed array");
    return false;
  }
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  out->assign(a.Data(), a.Data() + a.ElementLength());
  return true;
}

bool Filter::Parse(const Napi::Value& v, Status* st) {
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsObject()) { *st = Status::Error("E_BAD_ARG", "filter must be an object"); return false; }
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value cv = o.Get("columns"), pv = o.Get("program");
  if (!cv.IsArray() || !pv.IsArray()) { *st = Status::Error("E_BAD_ARG", "filter needs program and columns arrays"); return false; }
  Napi::Array ca = cv.As<Napi::Array>(), pa = pv.As<Napi::Array>();
  for (uint32_t i = 0; i < ca.Length(); i++) {
    ColumnPtr c;
    if (!ParseColumn(ca.Get(i), &c, st)) return false;
    cols.push_back(c);
  }
  int d = 0;
  for (uint32_t i = 0; i < pa.Length(); i++) {
    Napi::Value ev = pa.Get(i);
    if (!ev.IsObject()) { *st = Status::Error("E_BAD_ARG", "bad filter op"); return false; }
    Napi::Object e = ev.As<Napi::Object>();
    std::string t;
    if (!GetStr(e, "op", &t, st)) return false;
    FOp op;
    uint64_t u = 0;
    auto colArg = [&](const char* key, int* out) {
      if (!GetU64(e, key, &u, st)) return false;
      if (u >= cols.size()) { *st = Status::Error("E_BAD_ARG", "filter column index out of range"); return false; }
      *out = static_cast<int>(u);
      return true;
    };
    if (t == "cmp") {
      op.type = FOp::CMP;
      std::string c;
      if (!colArg("col", &op.col) || !GetStr(e, "cmp", &c, st)) return false;
      op.cmp = CmpCode(c);
      if (op.cmp < 0) { *st = Status::Error("E_BAD_ARG", "bad comparison " + c); return false; }
      bool isNull;
      if (!ParseLit(e.Get("lit"), &op, &isNull, &op.num, &op.s, &op.str, st)) return false;
      if (isNull) { op = FOp(); op.type = FOp::CONST; op.cval = 1; }
      d++;
    } else if (t == "in") {
      op.type = FOp::IN;
      if (!colArg("col", &op.col)) return false;
      Napi::Value lv = e.Get("lits");
      if (!lv.IsArray()) { *st = Status::Error("E_BAD_ARG", "in needs lits"); return false; }
      Napi::Array la = lv.As<Napi::Array>();
      for (uint32_t k = 0; k < la.Length(); k++) {
        bool isNull, isStr; long double num; std::string s;
        if (!ParseLit(la.Get(k), nullptr, &isNull, &num, &s, &isStr, st)) return false;
        if (isNull) op.hasNull = true;
        else if (isStr) { op.strs.push_back(s); op.str = true; }
        else if (num == num) op.nums.push_back(num);  // NaN never matches
      }
      std::sort(op.nums.begin(), op.nums.end());
      std::sort(op.strs.begin(), op.strs.end());
      d++;
    } else if (t == "isnull") {
      op.type = FOp::ISNULL;
      if (!colArg("col", &op.col)) return false;
      d++;
    } else if (t == "poly") {
      op.type = FOp::POLY;
      if (!colArg("x", &op.col) || !colArg("y", &op.col2)) return false;
      Napi::Value pts = e.Get("pts");
      if (!pts.IsTypedArray() || pts.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        *st = Status::Error("E_BAD_ARG", "poly needs pts: Float64Array"); return false;
      }
      Napi::Float64Array pa2 = pts.As<Napi::Float64Array>();
      // edges (ylo, yhi, xi, yi, k) from shared/expr/polygon.ts polygonEdges()
      op.poly.assign(pa2.Data(), pa2.Data() + (pa2.ElementLength() / 5) * 5);
      op.by0 = INFINITY; op.by1 = -INFINITY;
      for (size_t k = 0; k + 4 < op.poly.size(); k += 5) { op.by0 = std::min(op.by0, op.poly[k]); op.by1 = std::max(op.by1, op.poly[k + 1]); }
      d++;
    } else if (t == "str") {
      op.type = FOp::STR;
      std::string fn;
      if (!colArg("col", &op.col) || !GetStr(e, "fn", &fn, st)) return false;
      static const char* kFns[] = {"eq", "contains", "prefix", "suffix", "like", "regex"};
      op.sfn = -1;
      for (int k = 0; k < 6; k++) if (fn == kFns[k]) op.sfn = k;
      if (op.sfn < 0) { *st = Status::Error("E_BAD_ARG", "unknown string predicate " + fn); return false; }
      if (!GetStr(e, "s", &op.s, st, false)) return false;
      op.icase = false;
      GetBool(e, "anchored", &op.anchored, false);
      if (!GetTyped<int32_t>(e, "pat", napi_int32_array, &op.pat, st) || !GetTyped<int32_t>(e, "prog", napi_int32_array, &op.prog, st) ||
          !GetTyped<uint32_t>(e, "ranges", napi_uint32_array, &op.ranges, st) || !GetTyped<uint32_t>(e, "fold", napi_uint32_array, &op.fold, st))
        return false;
      op.icase = !e.Get("fold").IsUndefined();
      if (op.sfn == FOp::S_REGEX) {
        // the program must be well formed: every jump inside it, every set inside `ranges`
        const size_t np = op.prog.size() / 3;
        bool ok = np > 0 && op.prog.size() % 3 == 0 && op.ranges.size() % 2 == 0;
        for (size_t k = 0; ok && k < np; k++) {
          const int32_t o = op.prog[3 * k], a = op.prog[3 * k + 1], b = op.prog[3 * k + 2];
          if (o == 0 || o == 1) ok = a >= 0 && b >= 0 && static_cast<size_t>(a) + b <= op.ranges.size() / 2 && k + 1 < np;
          else if (o == 3) ok = a >= 0 && b >= 0 && static_cast<size_t>(a) < np && static_cast<size_t>(b) < np;
          else if (o == 4) ok = a >= 0 && static_cast<size_t>(a) < np;
          else ok = o >= 2 && o <= 8 && (o == 7 || k + 1 < np);
        }
        if (!ok) { *st = Status::Error("E_BAD_ARG", "malformed regular expression program"); return false; }
      }
      d++;
    } else if (t == "and" || t == "or") {
      op.type = t == "and" ? FOp::AND : FOp::OR;
      if (!GetU64(e, "n", &u, st)) return false;
      op.n = static_cast<int>(u);
      if (op.n < 1 || op.n > d) { *st = Status::Error("E_BAD_ARG", "bad and/or arity"); return false; }
      d -= op.n - 1;
    } else if (t == "not") {
      op.type = FOp::NOT;
      if (d < 1) { *st = Status::Error("E_BAD_ARG", "not needs an operand"); return false; }
    } else if (t == "const") {
      op.type = FOp::CONST;
      if (!GetU64(e, "v", &u, st)) return false;
      op.cval = static_cast<uint8_t>(std::min<uint64_t>(u, 2));
      d++;
    } else {
      *st = Status::Error("E_BAD_ARG", "unknown filter op " + t);
      return false;
    }
    depth = std::max(depth, d);
    ops.push_back(std::move(op));
  }
  if (!ops.empty() && d != 1) { *st = Status::Error("E_BAD_ARG", "malformed filter program"); return false; }
  return true;
}

template <class A, class B>
static inline bool CmpVal(int cmp, const A& a, const B& b) {
  switch (cmp) {
    case 0: return a == b;
    case 1: return a != b;
    case 2: return a < b;
    case 3: return a <= b;
    case 4: return a > b;
    default: return a >= b;
  }
}

// ---- string predicates ----

static inline uint32_t FoldCp(const std::vector<uint32_t>& fold, uint32_t c) {
  if (c < 128) return (c >= 'A' && c <= 'Z') ? c + 32 : c;  // both case tables agree on ASCII
  size_t lo = 0, hi = fold.size() / 2;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (fold[2 * mid] < c) lo = mid + 1; else hi = mid;
  }
  return (lo < fold.size() / 2 && fold[2 * lo] == c) ? fold[2 * lo + 1] : c;
}

// UTF-8 → code points (folded when `fold` is given); a malformed byte reads as U+FFFD.
static void DecodeUtf8(std::string_view s, const std::vector<uint32_t>* fold, std::vector<uint32_t>& out) {
  out.clear();
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    uint32_t c = p[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > n) { out.push_back(0xFFFD); i++; continue; }
    if (len > 1) {
      c &= 0x3F >> (len - 1);
      bool ok = true;
      for (int k = 1; k < len; k++) {
        if ((p[i + k] & 0xC0) != 0x80) { ok = false; break; }
        c = (c << 6) | (p[i + k] & 0x3F);
      }
      if (!ok) { out.push_back(0xFFFD); i++; continue; }
    }
    out.push_back(fold ? FoldCp(*fold, c) : c);
    i += len;
  }
}

// SQL LIKE over code points: tokens -1 = %, -2 = _ (iterative wildcard matching, no recursion).
static bool LikeMatch(const std::vector<int32_t>& p, const uint32_t* t, size_t n) {
  size_t i = 0, j = 0, mark = 0;
  const size_t m = p.size();
  ptrdiff_t star = -1;
  while (i < n) {
    if (j < m && (p[j] == -2 || (p[j] >= 0 && static_cast<uint32_t>(p[j]) == t[i]))) { i++; j++; }
    else if (j < m && p[j] == -1) { star = static_cast<ptrdiff_t>(j++); mark = i; }
    else if (star >= 0) { j = static_cast<size_t>(star) + 1; i = ++mark; }
    else return false;
  }
  while (j < m && p[j] == -1) j++;
  return j == m;
}

static inline bool InSet(const std::vector<uint32_t>& R, int32_t first, int32_t count, uint32_t c) {
  int32_t lo = 0, hi = count;
  while (lo < hi) {
    const int32_t mid = (lo + hi) / 2;
    if (R[2 * (first + mid) + 1] < c) lo = mid + 1; else hi = mid;
  }
  return lo < count && R[2 * (first + lo)] <= c;
}

// Regular expressions: a Thompson NFA compiled in shared/expr/strmatch.ts (compileRegex), run as
// a Pike VM without captures: every thread advances in step over the text, so the time is
// O(text × program) with no backtracking. Not std::regex: libstdc++'s is a recursive backtracker
// (exponential on patterns like (a*)*b, deep recursion on long strings) and much slower; and
// compiling on the JS side keeps one parser deciding what a pattern means for every back end.
// Ops: 0 SET / 1 NSET (a = first range pair, b = count), 2 ANY, 3 SPLIT a b, 4 JMP a, 5 BOL,
// 6 EOL, 7 MATCH, 8 CHAR a.
static bool RegexMatch(const FOp& op, const uint32_t* t, size_t n, StrScratch& s) {
  const int32_t* P = op.prog.data();
  const size_t np = op.prog.size() / 3;
  if (s.mark.size() < np) s.mark.assign(np, 0);
  s.clist.clear();
  auto nextGen = [&]() {
    if (++s.gen == 0) { std::fill(s.mark.begin(), s.mark.end(), 0); s.gen = 1; }
  };
  // epsilon closure of pc at text position pos into list; true when MATCH is reached
  auto add = [&](std::vector<int32_t>& list, int32_t pc0, size_t pos) {
    s.stack.clear();
    s.stack.push_back(pc0);
    while (!s.stack.empty()) {
      const int32_t pc = s.stack.back();
      s.stack.pop_back();
      if (s.mark[pc] == s.gen) continue;
      s.mark[pc] = s.gen;
      const int32_t o = P[3 * pc];
      switch (o) {
        case 3: s.stack.push_back(P[3 * pc + 2]); s.stack.push_back(P[3 * pc + 1]); break;
        case 4: s.stack.push_back(P[3 * pc + 1]); break;
        case 5: if (pos == 0) s.stack.push_back(pc + 1); break;
        case 6: if (pos == n) s.stack.push_back(pc + 1); break;
        case 7: return true;
        default: list.push_back(pc);
      }
    }
    return false;
  };
  nextGen();
  if (add(s.clist, 0, 0)) return true;
  for (size_t pos = 0; pos < n; pos++) {
    const uint32_t c = t[pos];
    nextGen();
    s.nlist.clear();
    for (const int32_t pc : s.clist) {
      const int32_t o = P[3 * pc];
      bool hit;
      switch (o) {
        case 0: hit = InSet(op.ranges, P[3 * pc + 1], P[3 * pc + 2], c); break;
        case 1: hit = !InSet(op.ranges, P[3 * pc + 1], P[3 * pc + 2], c); break;
        case 2: hit = true; break;
        default: hit = static_cast<uint32_t>(P[3 * pc + 1]) == c; break;  // CHAR
      }
      if (hit && add(s.nlist, pc + 1, pos + 1)) return true;
    }
    if (!op.anchored && add(s.nlist, 0, pos + 1)) return true;
    std::swap(s.clist, s.nlist);
    if (op.anchored && s.clist.empty()) return false;
  }
  return false;
}

// A dictionary column's rows through the per-entry results `lut` (comparisons, IN and string
// predicates are evaluated once per dictionary entry); an index outside the dictionary is null (1).
static inline void DictLookup(const View& v, uint64_t local, uint32_t n, const std::vector<uint8_t>& lut, uint8_t* o) {
  for (uint32_t i = 0; i < n; i++) {
    const int64_t k = DictIndex(v, local + i);
    o[i] = (k >= 0 && static_cast<uint64_t>(k) < lut.size()) ? lut[k] : 1;
  }
}

static bool StrMatch(const FOp& op, std::string_view v, StrScratch& s) {
  if (!op.icase && op.sfn <= FOp::S_SUFFIX) {
    const std::string_view p(op.s);
    switch (op.sfn) {
      case FOp::S_EQ: return v == p;
      case FOp::S_CONTAINS: return v.find(p) != std::string_view::npos;
      case FOp::S_PREFIX: return v.size() >= p.size() && v.compare(0, p.size(), p) == 0;
      default: return v.size() >= p.size() && v.compare(v.size() - p.size(), p.size(), p) == 0;
    }
  }
  DecodeUtf8(v, op.icase ? &op.fold : nullptr, s.cps);
  const uint32_t* t = s.cps.data();
  const size_t n = s.cps.size(), m = op.pat.size();
  auto eqAt = [&](size_t at) {
    for (size_t k = 0; k < m; k++) if (t[at + k] != static_cast<uint32_t>(op.pat[k])) return false;
    return true;
  };
  switch (op.sfn) {
    case FOp::S_EQ: return n == m && eqAt(0);
    case FOp::S_PREFIX: return n >= m && eqAt(0);
    case FOp::S_SUFFIX: return n >= m && eqAt(n - m);
    case FOp::S_CONTAINS:
      for (size_t at = 0; at + m <= n; at++) if (eqAt(at)) return true;
      return false;
    case FOp::S_LIKE: return LikeMatch(op.pat, t, n);
    default: return RegexMatch(op, t, n, s);
  }
}

static uint8_t StrPred(const FOp& op, std::string_view s) {
  if (op.type == FOp::CMP) {
    int c = s.compare(std::string_view(op.s));
    return CmpVal(op.cmp, c, 0) ? 2 : 0;
  }
  // IN
  bool hit = std::binary_search(op.strs.begin(), op.strs.end(), s,
                                [](const auto& a, const auto& b) { return std::string_view(a) < std::string_view(b); });
  return hit ? 2 : (op.hasNull ? 1 : 0);
}

Status Filter::Prepare() {
  for (auto& c : cols) {
    Status st = c->Validate();
    if (!st.ok()) return st;
  }
  StrScratch scratch;
  for (FOp& op : ops) {
    if (op.type == FOp::STR) {
      const Column& c = *cols[op.col];
      if (!c.IsString()) return Status::Error("E_BAD_TYPE", "a string predicate on the non-string column " + c.name);
      if (c.kind == Kind::DICT) {
        // once per dictionary entry, not per row
        StringColumnReader r;
        r.Bind(*c.dict);
        op.lut.resize(c.dict->rows);
        for (uint64_t k = 0; k < c.dict->rows; k++) {
          const uint8_t* p; uint64_t len;
          if (!r.Get(k, &p, &len)) return Status::Error("E_CORRUPT", "corrupt dictionary of column " + c.name);
          op.lut[k] = p ? (StrMatch(op, std::string_view(reinterpret_cast<const char*>(p), len), scratch) ? 2 : 0) : 1;
        }
      }
      continue;
    }
    if (op.type != FOp::CMP && op.type != FOp::IN) continue;
    const Column& c = *cols[op.col];
    const bool wantStr = op.type == FOp::CMP ? op.str : (!op.strs.empty());
    if (c.IsString() != wantStr && !(op.type == FOp::IN && op.strs.empty() && op.nums.empty()))
      return Status::Error("E_BAD_TYPE", "filter compares column " + c.name + " with a literal of another type");
    if (c.kind == Kind::DICT) {
      StringColumnReader r;
      r.Bind(*c.dict);
      op.lut.resize(c.dict->rows);
      for (uint64_t k = 0; k < c.dict->rows; k++) {
        const uint8_t* p; uint64_t len;
        if (!r.Get(k, &p, &len)) return Status::Error("E_CORRUPT", "corrupt dictionary of column " + c.name);
        op.lut[k] = p ? StrPred(op, std::string_view(reinterpret_cast<const char*>(p), len)) : 1;
      }
    }
  }
  return Status::Ok();
}

// Exactly shared/expr/polygon.ts pointInPolygon (same float64 operations in the same order).
static inline bool InPoly(const std::vector<double>& E, double x, double y) {
  bool in = false;
  for (size_t k = 0; k + 4 < E.size(); k += 5) {
    if (y >= E[k] && y < E[k + 1] && x < E[k + 2] + (y - E[k + 3]) * E[k + 4]) in = !in;
  }
  return in;
}

void Filter::Eval(const View* views, uint64_t r0, uint32_t n, uint8_t* mask, FilterScratch& s) const {
  const uint8_t* t = EvalTri(views, r0, n, s);
  for (uint32_t i = 0; i < n; i++) mask[i] = t[i] == 2;
}

template <class T, int Op>
static void CmpTyped(const uint8_t* data, uint32_t n, double L, uint8_t* o) {
  const T* p = reinterpret_cast<const T*>(data);
  for (uint32_t i = 0; i < n; i++) {
    const double a = static_cast<double>(p[i]);
    bool r;
    if constexpr (Op == 0) r = a == L;
    else if constexpr (Op == 1) r = a != L;
    else if constexpr (Op == 2) r = a < L;
    else if constexpr (Op == 3) r = a <= L;
    else if constexpr (Op == 4) r = a > L;
    else r = a >= L;
    o[i] = static_cast<uint8_t>(r) << 1;
  }
}

#ifdef CDX_HAVE_AVX2_PATH
// 4 lanes -> 4 result bytes (0 or 2) from a 4-bit compare mask
static const uint32_t kBits2[16] = {
    0x00000000, 0x00000002, 0x00000200, 0x00000202, 0x00020000, 0x00020002, 0x00020200, 0x00020202,
    0x02000000, 0x02000002, 0x02000200, 0x02000202, 0x02020000, 0x02020002, 0x02020200, 0x02020202};

template <class T, int Pred>
__attribute__((target("avx2"))) static void CmpAvx2(const T* p, uint32_t n, double L, uint8_t* o) {
  const __m256d l = _mm256_set1_pd(L);
  uint32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int m = _mm256_movemask_pd(_mm256_cmp_pd(LoadPd<T>(p + i), l, Pred));
    std::memcpy(o + i, &kBits2[m], 4);
  }
  for (; i < n; i++) {
    const double a = static_cast<double>(p[i]);
    bool r;
    if constexpr (Pred == _CMP_EQ_OQ) r = a == L;
    else if constexpr (Pred == _CMP_NEQ_UQ) r = a != L;
    else if constexpr (Pred == _CMP_LT_OQ) r = a < L;
    else if constexpr (Pred == _CMP_LE_OQ) r = a <= L;
    else if constexpr (Pred == _CMP_GT_OQ) r = a > L;
    else r = a >= L;
    o[i] = static_cast<uint8_t>(r) << 1;
  }
}

template <class T>
static void CmpAvx2Op(int op, const uint8_t* data, uint32_t n, double L, uint8_t* o) {
  const T* p = reinterpret_cast<const T*>(data);
  switch (op) {
    case 0: CmpAvx2<T, _CMP_EQ_OQ>(p, n, L, o); break;
    case 1: CmpAvx2<T, _CMP_NEQ_UQ>(p, n, L, o); break;  // NaN != L is true
    case 2: CmpAvx2<T, _CMP_LT_OQ>(p, n, L, o); break;
    case 3: CmpAvx2<T, _CMP_LE_OQ>(p, n, L, o); break;
    case 4: CmpAvx2<T, _CMP_GT_OQ>(p, n, L, o); break;
    default: CmpAvx2<T, _CMP_GE_OQ>(p, n, L, o); break;
  }
}
#endif

template <class T>
static void CmpTypedOp(int op, const uint8_t* data, uint32_t n, double L, uint8_t* o) {
#ifdef CDX_HAVE_AVX2_PATH
  if constexpr (std::is_floating_point_v<T>) {
    static const bool simd = CpuHasAvx2() && !std::getenv("CDX_NO_SIMD");
    if (simd) { CmpAvx2Op<T>(op, data, n, L, o); return; }
  }
#endif
  switch (op) {
    case 0: CmpTyped<T, 0>(data, n, L, o); break;
    case 1: CmpTyped<T, 1>(data, n, L, o); break;
    case 2: CmpTyped<T, 2>(data, n, L, o); break;
    case 3: CmpTyped<T, 3>(data, n, L, o); break;
    case 4: CmpTyped<T, 4>(data, n, L, o); break;
    default: CmpTyped<T, 5>(data, n, L, o); break;
  }
}

const uint8_t* Filter::EvalTri(const View* views, uint64_t r0, uint32_t n, FilterScratch& s) const {
  int sp = 0;
  auto top = [&](int k) { return s.stack.data() + static_cast<size_t>(k) * kBatch; };
  for (const FOp& op : ops) {
    switch (op.type) {
      case FOp::CONST: {
        std::memset(top(sp++), op.cval, n);
        break;
      }
      case FOp::ISNULL: {
        const View& v = views[op.col];
        uint8_t* o = top(sp++);
        if (ValidityBytes(v, r0 - v.rowStart, n, o)) for (uint32_t i = 0; i < n; i++) o[i] = o[i] ? 0 : 2;
        else std::memset(o, 0, n);
        break;
      }
      case FOp::CMP:
      case FOp::IN: {
        const View& v = views[op.col];
        const Column& c = *v.col;
        const uint64_t local = r0 - v.rowStart;
        uint8_t* o = top(sp++);
        const bool hasNulls = ValidityBytes(v, local, n, s.va.data());
        if (c.kind == Kind::DICT) {
          DictLookup(v, local, n, op.lut, o);
        } else if (c.IsString()) {
          for (uint32_t i = 0; i < n; i++) {
            const uint8_t* p; uint64_t len;
            if (!StringAt(v, local + i, &p, &len)) { o[i] = 1; continue; }
            o[i] = StrPred(op, std::string_view(reinterpret_cast<const char*>(p), len));
          }
        } else {
          const bool exact64 = (c.dtype == DType::I64 || c.dtype == DType::U64) && sizeof(long double) > 8;
          if (op.type == FOp::CMP) {
            if (!exact64 && !op.exactLit && c.kind == Kind::NUMERIC && !c.swap) {
              // host-order numbers: compare in place, no decode buffer
              const double L = static_cast<double>(op.num);
              DispatchNumeric(c.dtype, [&](auto tag) {
                using T = decltype(tag);
                CmpTypedOp<T>(op.cmp, v.data + local * sizeof(T), n, L, o);
              });
            } else if (exact64 || op.exactLit) {
              DecodeLD(v, local, n, s.ld.data());
              const long double L = op.num;
              for (uint32_t i = 0; i < n; i++) o[i] = CmpVal(op.cmp, s.ld[i], L) ? 2 : 0;
            } else {
              DecodeF64(v, local, n, s.a.data());
              const double L = static_cast<double>(op.num);
              const double* a = s.a.data();
              switch (op.cmp) {
                case 0: for (uint32_t i = 0; i < n; i++) o[i] = (a[i] == L) << 1; break;
                case 1: for (uint32_t i = 0; i < n; i++) o[i] = (a[i] != L) << 1; break;
                case 2: for (uint32_t i = 0; i < n; i++) o[i] = (a[i] < L) << 1; break;
                case 3: for (uint32_t i = 0; i < n; i++) o[i] = (a[i] <= L) << 1; break;
                case 4: for (uint32_t i = 0; i < n; i++) o[i] = (a[i] > L) << 1; break;
                default: for (uint32_t i = 0; i < n; i++) o[i] = (a[i] >= L) << 1; break;
              }
            }
          } else {
            DecodeLD(v, local, n, s.ld.data());
            const uint8_t miss = op.hasNull ? 1 : 0;
            for (uint32_t i = 0; i < n; i++) {
              long double x = s.ld[i];
              if (x != x) { o[i] = miss; continue; }
              o[i] = std::binary_search(op.nums.begin(), op.nums.end(), x) ? 2 : miss;
            }
          }
        }
        if (hasNulls) for (uint32_t i = 0; i < n; i++) o[i] = s.va[i] ? o[i] : 1;
        break;
      }
      case FOp::STR: {
        const View& v = views[op.col];
        const Column& c = *v.col;
        const uint64_t local = r0 - v.rowStart;
        uint8_t* o = top(sp++);
        const bool hasNulls = ValidityBytes(v, local, n, s.va.data());
        if (c.kind == Kind::DICT) {
          DictLookup(v, local, n, op.lut, o);
        } else {
          for (uint32_t i = 0; i < n; i++) {
            if (hasNulls && !s.va[i]) { o[i] = 1; continue; }
            const uint8_t* p; uint64_t len;
            if (!StringAt(v, local + i, &p, &len)) { o[i] = 1; continue; }
            o[i] = StrMatch(op, std::string_view(reinterpret_cast<const char*>(p), len), s.str) ? 2 : 0;
          }
        }
        if (hasNulls) for (uint32_t i = 0; i < n; i++) o[i] = s.va[i] ? o[i] : 1;
        break;
      }
      case FOp::POLY: {
        const View& vx = views[op.col];
        const View& vy = views[op.col2];
        uint8_t* o = top(sp++);
        DecodeF64(vx, r0 - vx.rowStart, n, s.a.data());
        DecodeF64(vy, r0 - vy.rowStart, n, s.b.data());
        for (uint32_t i = 0; i < n; i++) {
          double x = s.a[i], y = s.b[i];
          o[i] = (y >= op.by0 && y < op.by1 && InPoly(op.poly, x, y)) ? 2 : 0;
        }
        if (ValidityBytes(vx, r0 - vx.rowStart, n, s.va.data())) for (uint32_t i = 0; i < n; i++) o[i] = s.va[i] ? o[i] : 1;
        if (ValidityBytes(vy, r0 - vy.rowStart, n, s.va.data())) for (uint32_t i = 0; i < n; i++) o[i] = s.va[i] ? o[i] : 1;
        break;
      }
      case FOp::AND:
      case FOp::OR: {
        uint8_t* dst = top(sp - op.n);
        for (int k = 1; k < op.n; k++) {
          const uint8_t* src = top(sp - op.n + k);
          if (op.type == FOp::AND) for (uint32_t i = 0; i < n; i++) dst[i] = std::min(dst[i], src[i]);
          else for (uint32_t i = 0; i < n; i++) dst[i] = std::max(dst[i], src[i]);
        }
        sp -= op.n - 1;
        break;
      }
      case FOp::NOT: {
        uint8_t* t = top(sp - 1);
        for (uint32_t i = 0; i < n; i++) t[i] = 2 - t[i];
        break;
      }
    }
  }
  return top(0);
}

}  // namespace cdx
