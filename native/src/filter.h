// Filter programs: the expression AST of shared/expr/ast.ts, compiled on the JS side (native/
// index.ts) into a postfix program over a list of columns, evaluated here per batch of rows into
// a three-valued byte per row (0 false, 1 unknown/null, 2 true) so that AND = min, OR = max,
// NOT = 2 - v; a row passes when the result is 2 (true).
#pragma once

#include "columns.h"

namespace cdx {

constexpr uint32_t kBatch = 4096;

struct FOp {
  enum Type { CMP, IN, ISNULL, POLY, AND, OR, NOT, CONST } type = CONST;
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
};

struct FilterScratch {
  std::vector<uint8_t> stack;  // depth * kBatch
  std::vector<double> a, b;
  std::vector<long double> ld;
  std::vector<uint8_t> va, vb;
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
