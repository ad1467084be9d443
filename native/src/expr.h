// Computed columns: a value expression of shared/expr/ast.ts (Value), typed and compiled to a
// postfix program on the JS side (main/engine/expr-native.ts), evaluated here vectorised over
// batches of rows. A computed column is an ordinary Column to every kernel: View::Bind evaluates
// the chunk asked for into a buffer the view owns (data, validity, string offsets in the layouts
// of real columns), so summaries, binning, filters, group-by, sort, row windows and exports read
// it without knowing — and nothing is written to disk. The TS side cuts the chunks at every chunk
// boundary of the inputs and at most 65,536 rows (the kernels' morsel: each chunk is evaluated
// once per scan; smaller chunks, kinder to the cache, cost more per chunk than they saved).
//
// Evaluation never throws and never fails: out-of-domain results are null by the language's
// definition (x / 0, int64 overflow, sqrt of a negative, text that does not convert).
#pragma once

#include <mutex>

#include "filter.h"

namespace cdx {

struct VOp {
  int code = 0;
  int a = 0, b = 0;
  double f = 0;
  int64_t i = 0;
  std::string s;
};

enum class VOut : uint8_t { F64, I64, I32, BOOL, STR };

struct Computed {
  std::vector<ColumnPtr> inputs;
  std::vector<VOp> code;
  std::vector<std::shared_ptr<Filter>> preds;  // predicates used as values (case conditions, bool values)
  std::vector<uint32_t> lower, upper;          // case tables: sorted (from, to) code point pairs
  VOut out = VOut::F64;
  int depth = 1;
  // every column read (inputs, then each predicate's columns) and where each predicate's start
  std::vector<const Column*> all;
  std::vector<size_t> predStart;
  std::vector<std::unique_ptr<StringColumnReader>> dicts;  // per `all` column: a DICT's dictionary
  // Text results are kept for the life of the column (one kernel call): kernels hold string views
  // into what they read (distinct counters, extremes, group keys), valid as long as the mapping
  // is for a stored column — so a computed one's chunks must outlive the view that bound them.
  struct Kept {
    std::shared_ptr<uint8_t> buf;
    size_t dataBytes = 0;
    bool anyNull = false;
  };
  mutable std::mutex keptMu;
  mutable std::vector<Kept> kept;
  mutable std::vector<uint8_t> seen;   // chunks evaluated once already
  mutable bool keepAll = false;        // a chunk was asked for twice: keep numbers too (random access)
  mutable size_t keptBytes = 0;        // numbers kept (text is always kept: views into it are held)
  static constexpr size_t kKeepBudget = size_t(1) << 30;
  Status Validate();
  // Evaluates chunk `k` of `self` into `v` (owning the buffer).
  void Eval(const Column& self, size_t k, View* v) const;
};

// Parses `computed: { out, inputs, code, preds, lower?, upper? }` of a column descriptor (JS thread).
bool ParseComputed(const Napi::Value& v, Column* c, Status* st);

}  // namespace cdx
