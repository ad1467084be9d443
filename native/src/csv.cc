// CSV ingest: a stateful, streaming, parallel CSV parser exported to JS.
//
//   csvOpen({ path, delimiter, quote, terminator, ncols, mode: 'infer'|'parse', types?, orders?,
//             forced?, header, captureFirstRow, strict, cp1252, maxRowBytes }) -> parser handle (sync)
//   csvFeed(parser, chunk: Uint8Array, last: boolean, job?) -> Promise<FeedResult>
//
// JS streams the (decoded, BOM-free) bytes in chunks; each feed parses every complete row of
// carry + chunk in parallel (see csv_core.h for the chunk-boundary design) and keeps the incomplete
// tail for the next feed. Mode 'infer' only classifies values (the typing pass); mode 'parse'
// converts them into Arrow-layout column buffers (validity bitmap, float64 / int64 / int32 days /
// int64 microseconds / bit-packed bools / int32 offsets + UTF-8 bytes) returned as ArrayBuffers.
// Bad rows (wrong field count, an unterminated quote at end of file) are skipped and returned with
// their 1-based line numbers; with `strict` the feed rejects with E_BAD_ROW instead.
#include "csv_js.h"

namespace cdx {
namespace {

using csv::CType;
using csvp::BadRow;
using csvp::OutCol;
using csvp::Parser;
using csvp::ParserPtr;
using csvp::FixedWidth;

class FeedWorker : public PromiseWorker {
 public:
  FeedWorker(Napi::Env env) : PromiseWorker(env, "cdx.csvFeed") {}
  ParserPtr parser;
  bool last = false;
  void SetJob(JobPtr j) { job_ = std::move(j); }

  // results
  uint64_t rows = 0, lineAfter = 0, consumed = 0;
  std::vector<OutCol>* out = nullptr;
  std::unique_ptr<csvp::ParseCore> core;

  ~FeedWorker() override {
    if (parser) parser->busy.store(false);
  }

 protected:
  void Run() override {
    Parser& P = *parser;
    const char* base = reinterpret_cast<const char*>(P.buf.p.get());
    const uint64_t N = P.buf.len;
    job_->total.store(N);
    core.reset(new csvp::ParseCore(P, job_.get()));
    Status st = core->ParseBuffer(base, N, last, false);
    if (!st.ok()) { status_ = st; return; }
    if (core->needMore) {  // everything is carried to the next feed
      P.carryOff = 0;
      P.carryLen = N;
      lineAfter = P.line;
      return;
    }
    rows = core->rows;
    lineAfter = core->lineAfter;
    consumed = core->complete;
    P.carryOff = core->complete;
    P.carryLen = N - core->complete;
    if (P.infer) return;
    // Assemble the pieces into contiguous Arrow buffers (parallel over columns).
    if (!P.out) P.out = std::make_shared<std::vector<OutCol>>();
    out = std::static_pointer_cast<std::vector<OutCol>>(P.out).get();
    out->resize(P.ncols);
    std::atomic<bool> tooLarge{false};
    ErrorSlot failed;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t jj = 0; jj < static_cast<int64_t>(P.ncols); jj++) {
      try {
        const uint32_t j = static_cast<uint32_t>(jj);
        OutCol& o = (*out)[j];
        const CType t = P.types[j];
        o.type = t;
        uint64_t chars = 0;
        core->RangeStats(j, 0, rows, &o.nulls, &chars);
        csvp::ColumnDest d;
        if (o.nulls) d.validity = o.validity.Ensure((rows + 7) / 8);
        else o.validity.len = 0;
        const int w = FixedWidth(t);
        o.offsets.len = 0;
        if (t == CType::BOOL) d.data = o.data.Ensure((rows + 7) / 8);
        else if (w) d.data = o.data.Ensure(rows * w);
        else {
          if (chars > 0x7fffffffULL) { tooLarge.store(true); continue; }
          d.data = o.data.Ensure(chars);
          d.offsets = reinterpret_cast<int32_t*>(o.offsets.Ensure((rows + 1) * 4));
        }
        core->AssembleRange(j, 0, rows, o.nulls > 0, d);
      } catch (...) {
        failed.Capture(P.path + ": assembling a batch");
      }
    }
    if (tooLarge.load()) status_ = Status::Error("E_TOO_LARGE", P.path + ": a batch holds more than 2 GiB of text; use smaller chunks");
    else if (failed.failed()) status_ = failed.status();
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
    o.Set("orders", csvp::OrdersArray(env, P.ords));
    if (!P.infer && core->unconverted.size() == P.ncols) o.Set("unconverted", csvp::UnconvertedObject(env, core->unconverted, core->unconvertedSamples));
    const auto& bad = core->bad;
    const auto& widened = core->widened;
    Napi::Float64Array badArr = Napi::Float64Array::New(env, bad.size() * 2);
    for (size_t i = 0; i < bad.size(); i++) {
      badArr[i * 2] = static_cast<double>(bad[i].line);
      badArr[i * 2 + 1] = static_cast<double>(bad[i].fields);
    }
    o.Set("bad", badArr);
    o.Set("badCount", Napi::Number::New(env, static_cast<double>(core->badCount)));
    o.Set("widened", csvp::WidenedArray(env, widened));
    if (core->haveFirst) {
      const auto& firstRow = core->firstRow;
      const auto& firstClasses = core->firstClasses;
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
  p->d.delim = csvp::CharOpt(o, "delimiter", ',', &st);
  p->d.quote = csvp::CharOpt(o, "quote", '"', &st);
  p->d.term = csvp::CharOpt(o, "terminator", '\n', &st);
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
  csvp::OrdersAndForced(o, p.get());
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
