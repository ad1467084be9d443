// CSV -> Arrow IPC file, natively: the columnar cache's ingest without JS in the hot path.
//
//   csvIngest({ path, offset, out, prefix, delimiter, quote, terminator, ncols, types, orders,
//               forced, header, strict, cp1252, maxRowBytes, chunkBytes, batchRows }, job)
//     -> Promise<IngestResult>
//
// The input is mapped (MappedFile; every read of the mapping runs under the SIGBUS guard, so a file
// truncated while it is read gives E_TRUNCATED naming it) and parsed window by window (chunkBytes,
// doubled while a window holds no complete row, up to maxRowBytes): each window starts at a row
// start outside quotes and ends at the last complete row (ParseCore, quote parity), so no row is
// lost or split at a window edge. Each window's rows become record batches of at most batchRows:
// the RecordBatch message (flatbuffer encoded here, padded so that the body starts 64-byte
// aligned in the file) and the body (each buffer 64-byte aligned and padded, in IPC order:
// validity, [offsets,] data per column) are laid out by the OpenMP threads straight into a shared
// mapping of the batch's region of the output file (see Output). Parse and layout both run on all
// cores, so there is no serial writer stage left for the next parse to overlap. JS supplies
// `prefix` (magic + Schema message, apache-arrow's encoder) and appends the footer from the returned blocks.
//
// Types are given (sampled by JS). A value that does not fit widens the column; if nothing was
// written yet the window is simply re-parsed (ParseCore does it), but because the Schema at the
// start of the file is then wrong the result says `restart` and JS runs again with the widened
// types (this costs one window); after batches were written it is the same restart (a new pass).
// The output file is created (truncated) at `out` and removed again on any failure or cancel.
#include "csv_js.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cdx {
namespace {

using csv::CType;
using csvp::Parser;
using csvp::FixedWidth;

inline uint64_t Pad64(uint64_t n) { return (n + 63) & ~uint64_t{63}; }

// ---------------------------------------------------------------------------------------------
// The RecordBatch message (Message.fbs / Schema.fbs), written as a fixed flatbuffer layout:
//
//   0   uoffset -> Message table (32)
//   4   Message vtable     [12, 24, version@16, header_type@18, header@4, bodyLength@8]
//   16  RecordBatch vtable [10, 24, length@8, nodes@4, buffers@16]
//   32  Message table      soffset, header uoffset, bodyLength i64, version i16 (V5 = 4), type u8 (3)
//   56  RecordBatch table  soffset, nodes uoffset, length i64, buffers uoffset
//   84  [FieldNode] (u32 count, then 16-byte structs at 88), then [Buffer] likewise
//
// uoffsets point forward, vtables sit before their tables (soffset = table - vtable), every
// struct and 64-bit scalar is 8-byte aligned. The result is padded to a multiple of 8.
struct Span { int64_t a, b; };

template <class T>
inline void Put(uint8_t* base, size_t at, T v) { std::memcpy(base + at, &v, sizeof v); }

void EncodeRecordBatch(int64_t length, const std::vector<Span>& nodes, const std::vector<Span>& bufs, int64_t bodyLength,
                       std::vector<uint8_t>* out) {
  const size_t nodesVec = 84, nodesEnd = 88 + 16 * nodes.size();
  const size_t bufsVec = nodesEnd + 4, total = nodesEnd + 8 + 16 * bufs.size();
  out->assign(total, 0);
  uint8_t* b = out->data();
  Put<uint32_t>(b, 0, 32);
  // Message vtable
  Put<uint16_t>(b, 4, 12); Put<uint16_t>(b, 6, 24);
  Put<uint16_t>(b, 8, 16); Put<uint16_t>(b, 10, 18); Put<uint16_t>(b, 12, 4); Put<uint16_t>(b, 14, 8);
  // RecordBatch vtable
  Put<uint16_t>(b, 16, 10); Put<uint16_t>(b, 18, 24);
  Put<uint16_t>(b, 20, 8); Put<uint16_t>(b, 22, 4); Put<uint16_t>(b, 24, 16);
  // Message table at 32
  Put<int32_t>(b, 32, 32 - 4);
  Put<uint32_t>(b, 36, 56 - 36);
  Put<int64_t>(b, 40, bodyLength);
  Put<int16_t>(b, 48, 4);  // MetadataVersion.V5
  Put<uint8_t>(b, 50, 3);  // MessageHeader.RecordBatch
  // RecordBatch table at 56
  Put<int32_t>(b, 56, 56 - 16);
  Put<uint32_t>(b, 60, static_cast<uint32_t>(nodesVec - 60));
  Put<int64_t>(b, 64, length);
  Put<uint32_t>(b, 72, static_cast<uint32_t>(bufsVec - 72));
  Put<uint32_t>(b, nodesVec, static_cast<uint32_t>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); i++) { Put<int64_t>(b, 88 + 16 * i, nodes[i].a); Put<int64_t>(b, 96 + 16 * i, nodes[i].b); }
  Put<uint32_t>(b, bufsVec, static_cast<uint32_t>(bufs.size()));
  for (size_t i = 0; i < bufs.size(); i++) { Put<int64_t>(b, nodesEnd + 8 + 16 * i, bufs[i].a); Put<int64_t>(b, nodesEnd + 16 + 16 * i, bufs[i].b); }
}

// ---------------------------------------------------------------------------------------------
// The output file. Record batches are laid out straight into a shared mapping of their region of
// the file (grown with ftruncate first), by the parse threads in parallel: no intermediate body
// buffer, no write() copy, and the page-cache pages are filled by both cores (buffered write()
// calls on one file are serialised by the inode lock). Each region is unmapped once written, so
// the mapping never holds more than one batch. Removed on destruction unless kept.
class Output {
 public:
  Output(std::string path) : path_(std::move(path)) {}
  ~Output() {
    buf_.clear();
    Unmap();
    if (fd_ >= 0) ::close(fd_);
    if (created_ && !kept_) ::unlink(path_.c_str());
  }
  Status Open() {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return Error("cannot create the Arrow file");
    created_ = true;
    return Status::Ok();
  }
  // Appends bytes with pwrite (the file's prefix).
  Status Append(const uint8_t* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(pos_));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Error("cannot write the Arrow file");
      }
      p += w;
      n -= static_cast<size_t>(w);
      pos_ += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }
  // Extends the file by n bytes (zeros) and maps them; *dst points at the first.
  Status MapNext(uint64_t n, uint8_t** dst) {
    Status st = Unmap();
    if (!st.ok()) return st;
    if (::ftruncate(fd_, static_cast<off_t>(pos_ + n)) != 0) return Error("cannot extend the Arrow file");
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t start = pos_ & ~(page - 1);
    mapLen_ = pos_ + n - start;
    void* m = noMap_ ? MAP_FAILED : mmap(nullptr, mapLen_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(start));
    if (m == MAP_FAILED) {
      // a file system without shared writable mappings: lay out in memory, then pwrite
      noMap_ = true;
      mapLen_ = 0;
      buf_.assign(n, 0);
      bufAt_ = pos_;
      *dst = buf_.data();
      pos_ += n;
      return Status::Ok();
    }
    map_ = static_cast<uint8_t*>(m);
    *dst = map_ + (pos_ - start);
    pos_ += n;
    return Status::Ok();
  }
  // Ends the current region (unmaps it, or writes it out on the fallback path).
  Status Unmap() {
    if (map_) munmap(map_, mapLen_);
    map_ = nullptr;
    mapLen_ = 0;
    if (buf_.empty()) return Status::Ok();
    const uint8_t* p = buf_.data();
    size_t n = buf_.size();
    uint64_t at = bufAt_;
    buf_.clear();
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(at));
      if (w < 0) {
        if (errno == EINTR) continue;
        return Error("cannot write the Arrow file");
      }
      p += w;
      n -= static_cast<size_t>(w);
      at += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }
  uint64_t pos() const { return pos_; }
  void Keep() { kept_ = true; }
  // Use pwrite from the start (tests; a file system without shared writable mappings does it alone).
  void NoMap() { noMap_ = true; }
  bool Mapped() const { return map_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  Status Error(const char* what) const { return Status::Error("E_IO", path_ + ": " + what + ": " + std::strerror(errno)); }
  std::string path_;
  int fd_ = -1;
  bool created_ = false, kept_ = false;
  uint64_t pos_ = 0;
  uint8_t* map_ = nullptr;
  uint64_t mapLen_ = 0;
  bool noMap_ = false;
  std::vector<uint8_t> buf_;
  uint64_t bufAt_ = 0;
};

struct Block { uint64_t offset, metaLength, bodyLength; };

class IngestWorker : public PromiseWorker {
 public:
  IngestWorker(Napi::Env env) : PromiseWorker(env, "cdx.csvIngest") {}
  void SetJob(JobPtr j) { job_ = std::move(j); }

  // inputs
  std::string path, out;
  uint64_t offset = 0, chunkBytes = 16ull << 20, batchRows = 1ull << 20;
  std::vector<uint8_t> prefix;
  Parser P;

  // results
  std::vector<Block> blocks;
  std::vector<uint64_t> nulls;
  std::vector<csvp::BadRow> bad;
  uint64_t rows = 0, badCount = 0, fileBytes = 0;
  std::vector<csvp::ParseCore::Widen> widened;
  std::vector<uint64_t> unconverted;
  std::vector<csvp::Unconverted> unconvertedSamples;
  bool restart = false;

 protected:
  void Run() override {
    Status st;
    FilePtr f = MappedFile::Open(path, &st);
    if (!st.ok()) { status_ = st; return; }
    const uint64_t size = f->size();
    const char* base = reinterpret_cast<const char*>(f->data());
    if (offset > size) { status_ = Status::Error("E_BAD_ARG", path + ": start offset past the end"); return; }
    job_->total.store(size);
    f->AdviseSequential(offset, size - offset);
    Output o(out);
    if (std::getenv("CDX_CSV_NO_MMAP")) o.NoMap();
    st = o.Open();
    if (st.ok()) st = o.Append(prefix.data(), prefix.size());
    if (!st.ok()) { status_ = st; return; }
    nulls.assign(P.ncols, 0);
    unconverted.assign(P.ncols, 0);
    P.pieces = std::make_shared<std::vector<csvp::Piece>>();
    csvp::ParseCore core(P, job_.get());
    std::vector<uint8_t> meta;
    std::vector<Span> nodes, spans;
    uint64_t dropped = offset;
    uint64_t s = offset, win = std::max<uint64_t>(chunkBytes, 1);
    bool done = false;
    while (!done) {
      if (Cancelled()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }
      const uint64_t e = std::min(size, s + win);
      const bool last = e == size;
      const uint64_t now = f->CurrentSize();
      if (now < e) {
        status_ = Status::Error("E_TRUNCATED", path + ": the file shrank to " + std::to_string(now) + " bytes while it was being read (it had " + std::to_string(size) + ")");
        return;
      }
      st = core.ParseBuffer(base + s, e - s, last, true, base + size);
      if (!st.ok()) { status_ = st; return; }
      if (core.needMore) { win *= 2; continue; }
      if (!core.widened.empty()) {
        widened = core.widened;
        restart = true;
        break;
      }
      const uint64_t n = core.rows;
      badCount += core.badCount;
      for (uint32_t j = 0; j < P.ncols && j < core.unconverted.size(); j++) unconverted[j] += core.unconverted[j];
      for (auto& u : core.unconvertedSamples) {
        size_t have = 0;
        for (const auto& x : unconvertedSamples) have += x.col == u.col;
        if (have < csvp::kUnconvertedSamples) unconvertedSamples.push_back(u);
      }
      for (auto& b : core.bad) if (bad.size() < 1000) bad.push_back(b);
      for (uint64_t r0 = 0; r0 < n; r0 += batchRows) {
        const uint64_t r1 = std::min(n, r0 + batchRows), m = r1 - r0;
        // Layout of the body: per column validity (when there are nulls), offsets, data.
        nodes.assign(P.ncols, Span{0, 0});
        spans.clear();
        struct ColPlan { uint64_t nulls, chars, v, off, data; };
        std::vector<ColPlan> plan(P.ncols);
#pragma omp parallel for schedule(static)
        for (int64_t jj = 0; jj < static_cast<int64_t>(P.ncols); jj++)
          core.RangeStats(static_cast<uint32_t>(jj), r0, r1, &plan[jj].nulls, &plan[jj].chars);
        uint64_t body = 0;
        for (uint32_t j = 0; j < P.ncols; j++) {
          ColPlan& c = plan[j];
          const CType t = P.types[j];
          const int w = FixedWidth(t);
          const uint64_t vlen = c.nulls ? (m + 7) / 8 : 0;
          c.v = body; spans.push_back({static_cast<int64_t>(body), static_cast<int64_t>(vlen)}); body += Pad64(vlen);
          if (t == CType::BOOL || w) {
            const uint64_t dlen = t == CType::BOOL ? (m + 7) / 8 : m * w;
            c.data = body; spans.push_back({static_cast<int64_t>(body), static_cast<int64_t>(dlen)}); body += Pad64(dlen);
          } else {
            if (c.chars > 0x7fffffffULL) { status_ = Status::Error("E_TOO_LARGE", path + ": a record batch would hold more than 2 GiB of text"); return; }
            const uint64_t olen = (m + 1) * 4;
            c.off = body; spans.push_back({static_cast<int64_t>(body), static_cast<int64_t>(olen)}); body += Pad64(olen);
            c.data = body; spans.push_back({static_cast<int64_t>(body), static_cast<int64_t>(c.chars)}); body += Pad64(c.chars);
          }
          nodes[j] = Span{static_cast<int64_t>(m), static_cast<int64_t>(c.nulls)};
          nulls[j] += c.nulls;
        }
        EncodeRecordBatch(static_cast<int64_t>(m), nodes, spans, static_cast<int64_t>(body), &meta);
        // the metadata (with its 8-byte prefix) is padded so that the body starts 64-byte aligned
        const uint64_t at = o.pos();
        uint64_t metaLen = (8 + meta.size() + 7) & ~uint64_t{7};
        metaLen += (64 - (at + metaLen) % 64) % 64;
        uint8_t* p = nullptr;
        st = o.MapNext(metaLen + body, &p);
        if (!st.ok()) { status_ = st; return; }
        // the new region reads as zeros (the file was just extended): padding needs no writes
        std::atomic<bool> fault{false};
        ErrorSlot failed;
        if (!GuardedRun([&] {
              Put<uint32_t>(p, 0, 0xFFFFFFFFu);
              Put<int32_t>(p, 4, static_cast<int32_t>(metaLen - 8));
              std::memcpy(p + 8, meta.data(), meta.size());
            }))
          fault.store(true);
        uint8_t* bodyp = p + metaLen;
#ifdef MADV_POPULATE_WRITE
        // fault the region's pages in ahead, in parallel and in bulk (one call per 1 MiB instead of a
        // trap per page; a kernel without it says EINVAL and the pages fault in as they are written)
        if (o.Mapped()) {
          const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
          uint8_t* a0 = reinterpret_cast<uint8_t*>(reinterpret_cast<uintptr_t>(p) & ~(page - 1));
          const uint64_t len = static_cast<uint64_t>(p + metaLen + body - a0);
          const int64_t parts = static_cast<int64_t>((len + (1 << 20) - 1) >> 20);
#pragma omp parallel for schedule(dynamic, 1)
          for (int64_t k = 0; k < parts; k++) {
            const uint64_t o = static_cast<uint64_t>(k) << 20;
            madvise(a0 + o, std::min<uint64_t>(len - o, 1 << 20), MADV_POPULATE_WRITE);
          }
        }
#endif
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t jj = 0; jj < static_cast<int64_t>(P.ncols); jj++) {
          try {
            const ColPlan& c = plan[jj];
            csvp::ColumnDest d;
            d.validity = c.nulls ? bodyp + c.v : nullptr;
            d.data = bodyp + c.data;
            const CType t = P.types[jj];
            if (FixedWidth(t) == 0 && t != CType::BOOL) d.offsets = reinterpret_cast<int32_t*>(bodyp + c.off);
            // a fault here: the output was truncated by someone else, or the disk is full
            if (!GuardedRun([&] { core.AssembleRange(static_cast<uint32_t>(jj), r0, r1, c.nulls > 0, d); })) fault.store(true);
          } catch (...) {
            failed.Capture(path + ": writing a record batch");
          }
        }
        st = o.Unmap();
        if (!st.ok()) { status_ = st; return; }
        if (fault.load()) { status_ = Status::Error("E_IO", out + ": cannot write the Arrow file (disk full, or the file was truncated while written)"); return; }
        if (failed.failed()) { status_ = failed.status(); return; }
        blocks.push_back({at, metaLen, body});
      }
      rows += n;
      // the rows behind are parsed: let their pages go (keeps RSS bounded for huge files)
      s += core.complete;
      if (s - dropped >= (64ull << 20)) { f->AdviseDontNeed(dropped, s - dropped); dropped = s; }
      job_->done.store(s);
      win = std::max<uint64_t>(chunkBytes, 1);
      done = last;
    }
    fileBytes = o.pos();
    if (Cancelled()) { status_ = Status::Error("E_CANCELLED", "cancelled"); return; }
    if (!restart) o.Keep();
  }

  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("rows", Napi::Number::New(env, static_cast<double>(rows)));
    r.Set("badCount", Napi::Number::New(env, static_cast<double>(badCount)));
    r.Set("restart", Napi::Boolean::New(env, restart));
    r.Set("size", Napi::Number::New(env, static_cast<double>(fileBytes)));
    Napi::Float64Array b = Napi::Float64Array::New(env, bad.size() * 2);
    for (size_t i = 0; i < bad.size(); i++) { b[2 * i] = static_cast<double>(bad[i].line); b[2 * i + 1] = static_cast<double>(bad[i].fields); }
    r.Set("bad", b);
    Napi::Float64Array bl = Napi::Float64Array::New(env, blocks.size() * 3);
    for (size_t i = 0; i < blocks.size(); i++) {
      bl[3 * i] = static_cast<double>(blocks[i].offset);
      bl[3 * i + 1] = static_cast<double>(blocks[i].metaLength);
      bl[3 * i + 2] = static_cast<double>(blocks[i].bodyLength);
    }
    r.Set("blocks", bl);
    Napi::Float64Array nl = Napi::Float64Array::New(env, nulls.size());
    for (size_t j = 0; j < nulls.size(); j++) nl[j] = static_cast<double>(nulls[j]);
    r.Set("nulls", nl);
    Napi::Array types = Napi::Array::New(env, P.ncols);
    for (uint32_t j = 0; j < P.ncols; j++) types.Set(j, Napi::String::New(env, csv::CTypeName(P.types[j])));
    r.Set("types", types);
    r.Set("orders", csvp::OrdersArray(env, P.ords));
    r.Set("unconverted", csvp::UnconvertedObject(env, unconverted, unconvertedSamples));
    r.Set("widened", csvp::WidenedArray(env, widened));
    r.Set("batchesBeforeRestart", Napi::Number::New(env, static_cast<double>(blocks.size())));
    return r;
  }
};

// csvIngest(options, job?) -> Promise<IngestResult>
Napi::Value CsvIngest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* w = new IngestWorker(env);
  if (info.Length() < 1 || !info[0].IsObject()) return w->Start(Status::Error("E_BAD_ARG", "csvIngest(options, job?)"));
  if (info.Length() > 1) w->SetJob(GetJob(info[1]));
  Napi::Object o = info[0].As<Napi::Object>();
  Status st;
  Parser& P = w->P;
  GetStr(o, "path", &w->path, &st, true);
  GetStr(o, "out", &w->out, &st, true);
  P.path = w->path;
  P.d.delim = csvp::CharOpt(o, "delimiter", ',', &st);
  P.d.quote = csvp::CharOpt(o, "quote", '"', &st);
  P.d.term = csvp::CharOpt(o, "terminator", '\n', &st);
  uint64_t ncols = 0, maxRow = 0, v = 0;
  GetU64(o, "ncols", &ncols, &st, true);
  if (GetU64(o, "maxRowBytes", &maxRow, &st, false) && maxRow) P.maxRowBytes = maxRow;
  if (GetU64(o, "offset", &v, &st, false)) w->offset = v;
  if (GetU64(o, "chunkBytes", &v, &st, false) && v) w->chunkBytes = v;
  if (GetU64(o, "batchRows", &v, &st, false) && v) w->batchRows = v;
  GetBool(o, "header", &P.skipFirst, false);
  GetBool(o, "strict", &P.strict, false);
  GetBool(o, "cp1252", &P.cp1252, false);
  if (st.ok() && (ncols == 0 || ncols > 100000)) st = Status::Error("E_BAD_ARG", "ncols must be 1..100000");
  if (st.ok() && (P.d.delim == 0 || P.d.delim == P.d.quote || P.d.delim == P.d.term || (P.d.term != '\n' && P.d.term != '\r')))
    st = Status::Error("E_BAD_ARG", "bad CSV dialect (delimiter, quote, terminator)");
  Napi::Value pv = o.Get("prefix");
  if (st.ok() && !pv.IsTypedArray()) st = Status::Error("E_BAD_ARG", "prefix must be a Uint8Array");
  if (!st.ok()) return w->Start(st);
  Napi::TypedArray ta = pv.As<Napi::TypedArray>();
  const uint8_t* pd = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  w->prefix.assign(pd, pd + ta.ByteLength());
  if (w->prefix.size() % 8) return w->Start(Status::Error("E_BAD_ARG", "prefix length must be a multiple of 8"));
  P.d.Init();
  P.ncols = static_cast<uint32_t>(ncols);
  P.infer = false;
  P.types.assign(P.ncols, CType::STRING);
  P.nulls.assign(P.ncols, 0);
  Napi::Value tv = o.Get("types");
  if (tv.IsArray()) {
    Napi::Array a = tv.As<Napi::Array>();
    for (uint32_t j = 0; j < P.ncols && j < a.Length(); j++) {
      Napi::Value x = a.Get(j);
      if (x.IsString()) {
        CType t = csv::CTypeFromName(x.As<Napi::String>().Utf8Value());
        P.types[j] = t == CType::NUL ? CType::STRING : t;
      }
    }
  }
  csvp::OrdersAndForced(o, &P);
  return w->Start();
}

Export e_ingest("csvIngest", CsvIngest);

}  // namespace
}  // namespace cdx
