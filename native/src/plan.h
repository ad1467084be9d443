// A scan plan shared by the kernels: the kernel's own columns plus the filter's columns,
// validated against their files, cut into segments/morsels, with per-thread views and scratch.
#pragma once

#include "filter.h"

namespace cdx {

struct Plan {
  std::vector<ColumnPtr> cols;  // kernel columns first, then filter columns
  size_t nKernel = 0;
  Filter filter;
  uint64_t rows = 0;
  std::vector<Segment> segs;

  // JS thread: add a kernel column (before AddFilter).
  void Add(ColumnPtr c) { cols.push_back(std::move(c)); nKernel = cols.size(); }
  bool AddFilter(const Napi::Value& v, Status* st) {
    if (!filter.Parse(v, st)) return false;
    for (auto& c : filter.cols) cols.push_back(c);
    return true;
  }
  // Worker thread: open/validate files, check equal lengths, make segments.
  Status Prepare(uint64_t morselRows = 1 << 16) {
    if (cols.size() > 60) return Status::Error("E_BAD_ARG", "too many columns in one kernel (max 60)");
    // Columns naming the same path share one mapping.
    for (size_t i = 0; i < cols.size(); i++) {
      for (size_t j = 0; j < i && !cols[i]->file.file; j++)
        if (cols[j]->file.file && cols[j]->file.path == cols[i]->file.path) cols[i]->file.file = cols[j]->file.file;
      Status st = cols[i]->Validate();
      if (!st.ok()) return st;
    }
    Status st = filter.Prepare();
    if (!st.ok()) return st;
    rows = cols.empty() ? 0 : cols[0]->rows;
    for (auto& c : cols)
      if (c->rows != rows)
        return Status::Error("E_BAD_ARG", "columns differ in length: " + cols[0]->name + " has " + std::to_string(rows) +
                                              " rows, " + c->name + " has " + std::to_string(c->rows));
    std::vector<const Column*> cp;
    for (auto& c : cols) cp.push_back(c.get());
    segs = MakeSegments(cp, rows, morselRows);
    return Status::Ok();
  }
  void Bind(const Segment& s, View* views) const {
    for (size_t c = 0; c < cols.size(); c++) views[c].Bind(*cols[c], s.chunkIdx[c]);
  }
  const View* FilterViews(const View* views) const { return views + nKernel; }
  std::string What() const { return cols.empty() ? std::string("data") : cols[0]->file.path; }
};

}  // namespace cdx
