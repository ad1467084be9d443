// The JS side shared by the CSV exports (csv.cc: csvOpen / csvFeed; csv_ingest.cc: csvIngest):
// parse results as JS values and the parse options read from JS. The parse itself is csv_parse.h.
#pragma once

#include "common.h"
#include "csv_parse.h"

namespace cdx {
namespace csvp {

// The widenings of a parse as JS objects { column, from, to, line } (csvFeed and csvIngest results).
inline Napi::Array WidenedArray(Napi::Env env, const std::vector<ParseCore::Widen>& widened) {
  Napi::Array wid = Napi::Array::New(env, widened.size());
  for (size_t i = 0; i < widened.size(); i++) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("column", Napi::Number::New(env, widened[i].col));
    w.Set("from", Napi::String::New(env, csv::CTypeName(widened[i].from)));
    w.Set("to", Napi::String::New(env, csv::CTypeName(widened[i].to)));
    w.Set("line", Napi::Number::New(env, static_cast<double>(widened[i].line)));
    w.Set("orders", Napi::Number::New(env, widened[i].ord));
    wid.Set(static_cast<uint32_t>(i), w);
  }
  return wid;
}

// Per-column date orders (csv::ORD_* masks) as a JS array of numbers.
inline Napi::Array OrdersArray(Napi::Env env, const std::vector<uint8_t>& ords) {
  Napi::Array a = Napi::Array::New(env, ords.size());
  for (size_t j = 0; j < ords.size(); j++) a.Set(static_cast<uint32_t>(j), Napi::Number::New(env, ords[j]));
  return a;
}

// Values of forced columns that did not convert: { counts: Float64Array, samples: [{ column, row, line, value }] }.
inline Napi::Object UnconvertedObject(Napi::Env env, const std::vector<uint64_t>& counts, const std::vector<Unconverted>& samples) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Float64Array c = Napi::Float64Array::New(env, counts.size());
  for (size_t j = 0; j < counts.size(); j++) c[j] = static_cast<double>(counts[j]);
  o.Set("counts", c);
  Napi::Array s = Napi::Array::New(env, samples.size());
  for (size_t i = 0; i < samples.size(); i++) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("column", Napi::Number::New(env, samples[i].col));
    x.Set("row", Napi::Number::New(env, static_cast<double>(samples[i].row)));
    x.Set("line", Napi::Number::New(env, static_cast<double>(samples[i].line)));
    x.Set("value", Napi::String::New(env, samples[i].text));
    s.Set(static_cast<uint32_t>(i), x);
  }
  o.Set("samples", s);
  return o;
}

// The parse options shared by csvOpen and csvIngest: `orders` (date orders per column, default
// year-first for a parse, every order for a typing pass) and `forced` (columns whose type is kept).
inline void OrdersAndForced(const Napi::Object& o, Parser* P) {
  P->ords.assign(P->ncols, P->infer ? csv::ORD_ALL : csv::ORD_YMD);
  P->forced.assign(P->ncols, 0);
  Napi::Value ov = o.Get("orders");
  if (ov.IsArray()) {
    Napi::Array a = ov.As<Napi::Array>();
    for (uint32_t j = 0; j < P->ncols && j < a.Length(); j++) {
      Napi::Value x = a.Get(j);
      if (x.IsNumber()) {
        const uint32_t m = x.As<Napi::Number>().Uint32Value() & csv::ORD_ALL;
        if (m) P->ords[j] = static_cast<uint8_t>(m);
      }
    }
  }
  Napi::Value fv = o.Get("forced");
  if (fv.IsArray()) {
    Napi::Array a = fv.As<Napi::Array>();
    for (uint32_t j = 0; j < P->ncols && j < a.Length(); j++) P->forced[j] = a.Get(j).ToBoolean().Value() ? 1 : 0;
  }
}

// A one-character option of csvOpen / csvIngest (delimiter, quote): '\0' for "", E_BAD_ARG otherwise.
inline char CharOpt(const Napi::Object& o, const char* key, char dflt, Status* st) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsString()) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be a one-character string"); return dflt; }
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.size() > 1) { *st = Status::Error("E_BAD_ARG", std::string(key) + " must be one ASCII character"); return dflt; }
  return s.empty() ? '\0' : s[0];
}

}  // namespace csvp
}  // namespace cdx
