// Column descriptors from JS (JS thread): the one Node-API part of the column layer
// (columns.h); the chunk fields are checked by Column::SetChunks and the buffers by Validate().
#include "columns.h"
#include "common.h"
#include "expr.h"

namespace cdx {

static bool ParseKind(const std::string& s, Kind* k) {
  if (s == "numeric") *k = Kind::NUMERIC;
  else if (s == "bool") *k = Kind::BOOL;
  else if (s == "utf8") *k = Kind::UTF8;
  else if (s == "large_utf8") *k = Kind::LARGE_UTF8;
  else if (s == "dict") *k = Kind::DICT;
  else return false;
  return true;
}

// Descriptor: { name, file, kind, dtype?, littleEndian, chunks: Float64Array(8 per chunk), dictionary? }
// chunk fields: rows, dataOff, dataLen, validityOff (-1), validityBit, offsetsOff, offsetsLen, nullCount (-1)
bool ParseColumn(const Napi::Value& v, ColumnPtr* out, Status* st) {
  if (!v.IsObject()) { *st = Status::Error("E_BAD_ARG", "column descriptor must be an object"); return false; }
  Napi::Object o = v.As<Napi::Object>();
  auto c = std::make_shared<Column>();
  GetStr(o, "name", &c->name, st, false);
  Napi::Value comp = o.Get("computed");
  if (!comp.IsUndefined()) {
    // a computed column: evaluated from its inputs when a view binds a chunk (expr.h); no file
    if (!ParseComputed(comp, c.get(), st)) return false;
    if (!c->comp->inputs.empty()) c->file.path = c->comp->inputs[0]->file.path;
  } else if (!GetFileRef(o.Get("file"), &c->file, st)) return false;
  std::string kind, dtype;
  if (!GetStr(o, "kind", &kind, st)) return false;
  if (!ParseKind(kind, &c->kind)) { *st = Status::Error("E_BAD_TYPE", "column " + c->name + ": unsupported kind '" + kind + "'"); return false; }
  if (c->kind == Kind::NUMERIC || c->kind == Kind::DICT) {
    if (!GetStr(o, "dtype", &dtype, st)) return false;
    c->dtype = ParseDType(dtype);
    if (DTypeSize(c->dtype) == 0) { *st = Status::Error("E_BAD_TYPE", "column " + c->name + ": unsupported dtype '" + dtype + "'"); return false; }
    if (c->kind == Kind::DICT && IsFloat(c->dtype)) { *st = Status::Error("E_BAD_TYPE", "column " + c->name + ": dictionary index must be an integer"); return false; }
  } else if (c->kind == Kind::BOOL) {
    c->dtype = DType::BOOL;
  }
  bool le = true;
  GetBool(o, "littleEndian", &le, true);
  c->swap = le != HostLittleEndian();
  Napi::Value ch = o.Get("chunks");
  if (!ch.IsTypedArray() || ch.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    *st = Status::Error("E_BAD_ARG", "column " + c->name + ": chunks must be a Float64Array");
    return false;
  }
  Napi::Float64Array a = ch.As<Napi::Float64Array>();
  if (a.ElementLength() % 8 != 0) { *st = Status::Error("E_BAD_ARG", "column " + c->name + ": chunks length must be a multiple of 8"); return false; }
  *st = c->SetChunks(a.Data(), a.ElementLength() / 8);
  if (!st->ok()) return false;
  if (c->kind == Kind::DICT) {
    ColumnPtr d;
    if (!ParseColumn(o.Get("dictionary"), &d, st)) return false;
    if (d->kind != Kind::UTF8 && d->kind != Kind::LARGE_UTF8) {
      *st = Status::Error("E_BAD_TYPE", "column " + c->name + ": only string dictionaries are supported");
      return false;
    }
    c->dict = d;
  }
  *out = c;
  return true;
}

}  // namespace cdx
