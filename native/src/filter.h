// Filter programs: the expression AST of shared/expr/ast.ts, compiled on the JS side (native/
// index.ts) into a postfix program over a list of columns, evaluated here per batch of rows into
// a three-valued byte per row (0 false, 1 unknown/null, 2 true) so that AND = min, OR = max,
// NOT = 2 - v; a row passes when the result is 2 (true).
#pragma once

#include "columns.h"
#include "common.h"

namespace cdx {

constexpr uint32_t kBatch = 4096;

struct FOp {
  enum Type { CMP, IN, ISNULL, POLY, AND, OR, NOT, CONST, STR } type = CONST;
  int col = -1, col2 = -1;
  int cmp = 0;  // 0 '=', 1 '!=', 2 '<', 3 '<=', 4 '>', 5 '>='
  bool str = false;
  bool exactLit = false;           // integer literal: compare in long double (exact to 2^64)
  long double num = 0;
  std::string s;
  std::vector<long double> nums;   // IN (sorted)
  std::vector<std::string> strs;   // IN (sorted)
  bool hasNull = false;            // IN list contains null
  int n = 0;                       // AND/OR arity
  uint8_t cval = 0;                // CONST
  std::vector<double> poly;        // x0,y0,x1,y1,...
  double bx0 = 0, bx1 = 0, by0 = 0, by1 = 0;
  std::vector<uint8_t> lut;        // DICT columns: result per dictionary entry
  // STR (string predicates of shared/expr/strmatch.ts)
  enum StrFn { S_EQ, S_CONTAINS, S_PREFIX, S_SUFFIX, S_LIKE, S_REGEX };
  int sfn = S_EQ;
  bool icase = false;              // fold the text with `fold` and compare with `pat`
  bool anchored = false;           // regex: starts with ^ on every branch
  std::vector<int32_t> pat;        // code points (icase substring tests; LIKE tokens: -1 %, -2 _)
  std::vector<int32_t> prog;       // regex NFA: (op, a, b) triples
  std::vector<uint32_t> ranges;    // regex sets: (lo, hi) code point pairs
  std::vector<uint32_t> fold;      // case table: sorted (from, to) pairs
};

// Per-thread buffers of the string predicates (decoded code points, NFA thread lists).
struct StrScratch {
  std::vector<uint32_t> cps;
  std::vector<int32_t> clist, nlist, stack;
  std::vector<uint32_t> mark;
  uint32_t gen = 0;
};

struct FilterScratch {
  std::vector<uint8_t> stack;  // depth * kBatch
  std::vector<double> a, b;
  std::vector<long double> ld;
  std::vector<uint8_t> va, vb;
  StrScratch str;
  void Init(int depth);
};

class Filter {
 public:
  std::vector<FOp> ops;
  std::vector<ColumnPtr> cols;
  int depth = 0;
  bool empty() const { return ops.empty(); }
  // Parse { program: [...], columns: [...] } (JS thread).
  bool Parse(const Napi::Value& v, Status* st);
  // After columns are validated: dictionary lookup tables, checks (worker thread).
  Status Prepare();
  // views: one per filter column, bound to the chunk holding rows [r0, r0+n). mask[i] = 1 if row passes.
  void Eval(const View* views, uint64_t r0, uint32_t n, uint8_t* mask, FilterScratch& s) const;
  // The same, returning the three-valued result (2 = passes) in scratch memory: no mask pass.
  const uint8_t* EvalTri(const View* views, uint64_t r0, uint32_t n, FilterScratch& s) const;
};

}  // namespace cdx
