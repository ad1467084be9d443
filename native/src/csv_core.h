// CSV core (no Node-API): field classification and conversion (bool, int64, float64, date,
// timestamp, string), the row tokenizer, and the parallel chunk parser used by csv.cc.
//
// Chunk-boundary design (quote-parity pre-pass):
//  * Every buffer parsed starts at a row start outside quotes and only its complete rows are parsed:
//    csvFeed (bytes streamed from JS) keeps the bytes after the last complete row (the "carry") and
//    prepends them to the next chunk; csvIngest (the file mapped) starts the next window there (a
//    window without a complete row grows). Nothing is lost at an edge: an incomplete row waits.
//  * Inside a buffer, the bytes are cut into P pieces (P = 4 x threads). Pass 1 (parallel) counts the
//    quote characters of each piece; a prefix XOR gives the exact quote state at each piece start
//    (quotes toggle the state, a doubled quote toggles it twice, so parity is exact for RFC 4180 and
//    defines the semantics for malformed input too: the tokenizer below uses the same toggle rule).
//    Each piece then starts at its first row terminator outside quotes and parses the rows that
//    *start* in it; the buffer's end of complete rows is found by walking back from the end with the
//    known final parity. A quoted field spanning a piece or chunk edge is therefore never split.
//  * Pass 2 (parallel) tokenizes and converts each piece into its own column buffers; they are
//    concatenated in order. Line numbers (1-based, physical lines) come from per-piece terminator
//    counts plus a prefix sum.
//  * Widening: a value that does not fit its column's type widens the type (int64 -> float64,
//    date -> timestamp, anything else -> string) and the whole buffer is re-parsed with the wider
//    type, so rows already converted in this buffer are never lost. Across buffers the TS layer
//    decides: Source.scan() types the whole file first (mode "infer", a cheaper classify-only
//    pass) so no batch it has yielded ever needs widening; ingestCsv() (the cache's fast path)
//    types from a sample and, if a later buffer widens a column after batches were written,
//    restarts into a fresh temporary file with the widened types (each restart widens at least one
//    column of a lattice of height 3, so there are few).
#pragma once

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cdx {
namespace csv {

enum class CType : uint8_t { NUL = 0, BOOL, INT64, FLOAT64, DATE, TIMESTAMP, STRING };

static inline const char* CTypeName(CType t) {
  switch (t) {
    case CType::NUL: return "null";
    case CType::BOOL: return "bool";
    case CType::INT64: return "int64";
    case CType::FLOAT64: return "float64";
    case CType::DATE: return "date";
    case CType::TIMESTAMP: return "timestamp";
    default: return "string";
  }
}
static inline CType CTypeFromName(const std::string& s) {
  if (s == "null") return CType::NUL;
  if (s == "bool") return CType::BOOL;
  if (s == "int64") return CType::INT64;
  if (s == "float64") return CType::FLOAT64;
  if (s == "date") return CType::DATE;
  if (s == "timestamp") return CType::TIMESTAMP;
  return CType::STRING;
}

// Least type holding both (the widening lattice).
static inline CType Join(CType a, CType b) {
  if (a == b) return a;
  if (a == CType::NUL) return b;
  if (b == CType::NUL) return a;
  if ((a == CType::INT64 && b == CType::FLOAT64) || (a == CType::FLOAT64 && b == CType::INT64)) return CType::FLOAT64;
  if ((a == CType::DATE && b == CType::TIMESTAMP) || (a == CType::TIMESTAMP && b == CType::DATE)) return CType::TIMESTAMP;
  return CType::STRING;
}

// ---------------------------------------------------------------------------------------------
// Value parsers. Each returns false when the text is not of that type.

static inline bool IsNullToken(const char* p, size_t n) {
  switch (n) {
    case 0: return true;
    case 2: return p[0] == 'N' && p[1] == 'A';
    case 3: return p[0] == 'N' && p[1] == '/' && p[2] == 'A';
    case 4: return (std::memcmp(p, "null", 4) == 0) || (std::memcmp(p, "NULL", 4) == 0);
    default: return false;
  }
}

static inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
static inline bool IEq(const char* p, size_t n, const char* lit) {
  size_t m = std::strlen(lit);
  if (n != m) return false;
  for (size_t i = 0; i < n; i++) if (Lower(p[i]) != lit[i]) return false;
  return true;
}

static inline bool ParseBool(const char* p, size_t n, bool* out) {
  // case-insensitive "true" / "false": OR-ing 0x20 lowers exactly the letters' two cases
  uint32_t w;
  if (n == 4) {
    std::memcpy(&w, p, 4);
    if ((w | 0x20202020u) != 0x65757274u) return false;  // "true" little-endian
    *out = true;
    return true;
  }
  if (n == 5) {
    std::memcpy(&w, p, 4);
    if ((w | 0x20202020u) != 0x736c6166u || (p[4] | 0x20) != 'e') return false;  // "fals" + "e"
    *out = false;
    return true;
  }
  return false;
}

// Integer: [+-]?[0-9]+ without leading zeros ("0" itself is fine). *overflow set when the digits
// are a valid integer beyond int64 (the caller then treats it as float64).
static inline bool ParseInt(const char* p, size_t n, int64_t* out, bool* overflow) {
  *overflow = false;
  if (n == 0) return false;
  size_t i = 0;
  bool neg = false;
  if (p[0] == '-' || p[0] == '+') { neg = p[0] == '-'; i = 1; }
  if (i >= n) return false;
  if (p[i] == '0' && n - i > 1) return false;  // leading zero: a code, not a number
  uint64_t v = 0;
  if (n - i <= 19) {  // 19 digits cannot overflow uint64
    for (; i < n; i++) {
      const unsigned d = static_cast<unsigned char>(p[i]) - '0';
      if (d > 9) return false;
      v = v * 10 + d;
    }
  } else {
    for (; i < n; i++) {
      const unsigned d = static_cast<unsigned char>(p[i]) - '0';
      if (d > 9) return false;
      if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v)) *overflow = true;
    }
  }
  if (*overflow) return false;
  if (neg) {
    if (v > (uint64_t{1} << 63)) { *overflow = true; return false; }
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) { *overflow = true; return false; }
    *out = static_cast<int64_t>(v);
  }
  return true;
}

// Float: decimal or scientific notation, nan, inf, infinity (any case, optional sign). Like
// integers, an integer part with a leading zero ("007.5") is refused (a code, not a number).
static inline bool ParseFloat(const char* p, size_t n, double* out) {
  if (n == 0) return false;
  const char* b = p;
  const char* e = p + n;
  bool neg = false;
  if (*b == '+' || *b == '-') { neg = *b == '-'; b++; }
  if (b == e) return false;
  if (*b == '0' && b + 1 < e && b[1] >= '0' && b[1] <= '9') return false;
  const char c0 = Lower(*b);
  if (c0 == 'n' || c0 == 'i') {
    size_t m = static_cast<size_t>(e - b);
    if (IEq(b, m, "nan")) { *out = neg ? -NAN : NAN; return true; }
    if (IEq(b, m, "inf") || IEq(b, m, "infinity")) { *out = neg ? -HUGE_VAL : HUGE_VAL; return true; }
    return false;
  }
  if (!((c0 >= '0' && c0 <= '9') || c0 == '.')) return false;
  // Clinger's fast path: a decimal without exponent whose digits form an integer m <= 2^53 with
  // at most 22 fraction digits is exactly m / 10^k (both exact; one correctly rounded division).
  {
    static const double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char* s = b;
    uint64_t m = 0;
    for (; s < e; s++) {
      const unsigned d = static_cast<unsigned char>(*s) - '0';
      if (d > 9) break;
      m = m * 10 + d;
    }
    const size_t nint = static_cast<size_t>(s - b);
    size_t nfrac = 0;
    if (s < e && *s == '.') {
      const char* f = ++s;
      for (; s < e; s++) {
        const unsigned d = static_cast<unsigned char>(*s) - '0';
        if (d > 9) break;
        m = m * 10 + d;
      }
      nfrac = static_cast<size_t>(s - f);
    }
    if (s == e && nint + nfrac > 0 && nint + nfrac <= 19 && nfrac <= 22 && m <= (uint64_t{1} << 53)) {
      double v = static_cast<double>(m);
      if (nfrac) v /= kPow10[nfrac];
      *out = neg ? -v : v;
      return true;
    }
  }
  double v;
#if defined(__cpp_lib_to_chars) || (defined(__GLIBCXX__) && __GNUC__ >= 11)
  auto r = std::from_chars(b, e, v, std::chars_format::general);
  if (r.ptr != e) return false;
  const bool outOfRange = r.ec == std::errc::result_out_of_range;
  if (!outOfRange && r.ec != std::errc()) return false;
#else
  // Standard libraries without floating-point from_chars (older libc++): strtod on a bounded,
  // NUL-terminated copy (Node never changes the C locale, so '.' is the decimal point).
  char tmp[128];
  const size_t m = static_cast<size_t>(e - b);
  if (m >= sizeof tmp) return false;
  for (size_t k = 0; k < m; k++) {  // strtod also takes hex floats and leading spaces: refuse them
    const char c = b[k];
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return false;
  }
  std::memcpy(tmp, b, m);
  tmp[m] = 0;
  char* endp = nullptr;
  errno = 0;
  v = std::strtod(tmp, &endp);
  if (endp != tmp + m) return false;
  const bool outOfRange = errno == ERANGE;
#endif
  if (outOfRange) {
    // beyond double's range: +-inf for a large exponent, +-0 for a tiny one
    const char* x = b;
    while (x < e && *x != 'e' && *x != 'E') x++;
    v = (x + 1 < e && x[1] == '-') ? 0.0 : HUGE_VAL;
  }
  *out = neg ? -v : v;
  return true;
}

// SWAR fast paths for short numbers (the common case: ids, counts, prices). They need 8 readable
// bytes at the start of the digits (the caller checks against the end of its buffer) and accept
// exactly what ParseInt / ParseFloat accept, or return false to let those decide.

// k (1..8) ASCII digits at q -> value; false if any of them is not a digit.
static inline bool SwarDigits(const char* q, size_t k, uint64_t* out) {
  uint64_t w;
  std::memcpy(&w, q, 8);
  if (k < 8) w = (w << ((8 - k) * 8)) | (0x3030303030303030ULL >> (k * 8));  // leading '0's
  if (((w & 0xF0F0F0F0F0F0F0F0ULL) | (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL) return false;
  w = ((w & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
  w = ((w & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
  *out = ((w & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
  return true;
}

// [+-]?digits, at most 8 digits, no leading zero.
static inline bool ParseIntSwar(const char* p, size_t n, int64_t* out) {
  size_t i = (n > 0 && (p[0] == '-' || p[0] == '+')) ? 1 : 0;
  const size_t k = n - i;
  if (k == 0 || k > 8 || (p[i] == '0' && k > 1)) return false;
  uint64_t v;
  if (!SwarDigits(p + i, k, &v)) return false;
  *out = p[0] == '-' ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

// [+-]?digits[.digits] with at most 8 characters after the sign, at least one digit, no leading
// zero in the integer part (Clinger's exact case: m < 10^8, fraction digits <= 7).
static inline bool ParseFloatSwar(const char* p, size_t n, double* out) {
  static const double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
  const size_t i = (n > 0 && (p[0] == '-' || p[0] == '+')) ? 1 : 0;
  const char* s = p + i;
  const size_t len = n - i;
  if (len < 1 || len > 8) return false;
  uint64_t w;
  std::memcpy(&w, s, 8);
  const uint64_t t = w ^ 0x2E2E2E2E2E2E2E2EULL;  // '.' bytes become zero
  const uint64_t z = (t - 0x0101010101010101ULL) & ~t & 0x8080808080808080ULL;
  const uint64_t inLen = len == 8 ? ~0ULL : ((1ULL << (len * 8)) - 1);
  uint64_t m;
  double v;
  if (!(z & inLen)) {  // no dot: an integer
    if (s[0] == '0' && len > 1) return false;
    if (!SwarDigits(s, len, &m)) return false;
    v = static_cast<double>(m);
  } else {
    const size_t dot = static_cast<size_t>(__builtin_ctzll(z)) >> 3;  // the first '.' (exact for the lowest)
    const size_t k = len - 1;
    if (k == 0 || (dot > 1 && s[0] == '0')) return false;
    const uint64_t low = dot == 0 ? 0 : ((1ULL << (dot * 8)) - 1);
    const uint64_t merged = (w & low) | ((w >> 8) & ~low);  // the dot removed
    char tmp[8];
    std::memcpy(tmp, &merged, 8);
    if (!SwarDigits(tmp, k, &m)) return false;  // also refuses a second dot
    v = static_cast<double>(m);
    const size_t frac = len - 1 - dot;
    if (frac) v /= kPow10[frac];
  }
  *out = p[0] == '-' ? -v : v;
  return true;
}

static inline int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

static inline bool Digits(const char* p, int n, int* out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    unsigned d = static_cast<unsigned char>(p[i]) - '0';
    if (d > 9) return false;
    v = v * 10 + static_cast<int>(d);
  }
  *out = v;
  return true;
}

// YYYY-MM-DD -> days since 1970-01-01.
// A real calendar day (month 1..12, the month's length, 29 February in leap years).
static inline bool ValidYmd(int y, int m, int d) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= mdays[m - 1] || (m == 2 && d == 29 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

static inline bool ParseDate(const char* p, size_t n, int32_t* out) {
  if (n != 10 || p[4] != '-' || p[7] != '-') return false;
  const unsigned y0 = static_cast<unsigned char>(p[0]) - '0', y1 = static_cast<unsigned char>(p[1]) - '0';
  const unsigned y2 = static_cast<unsigned char>(p[2]) - '0', y3 = static_cast<unsigned char>(p[3]) - '0';
  const unsigned m0 = static_cast<unsigned char>(p[5]) - '0', m1 = static_cast<unsigned char>(p[6]) - '0';
  const unsigned d0 = static_cast<unsigned char>(p[8]) - '0', d1 = static_cast<unsigned char>(p[9]) - '0';
  if ((y0 > 9) | (y1 > 9) | (y2 > 9) | (y3 > 9) | (m0 > 9) | (m1 > 9) | (d0 > 9) | (d1 > 9)) return false;
  const int y = static_cast<int>(y0 * 1000 + y1 * 100 + y2 * 10 + y3);
  const int m = static_cast<int>(m0 * 10 + m1), d = static_cast<int>(d0 * 10 + d1);
  if (!ValidYmd(y, m, d)) return false;
  *out = static_cast<int32_t>(DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
  return true;
}

static inline bool IsDigit(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c) - '0') <= 9; }

// The time of day from p[i] to p[n]: HH:MM[:SS[.f{1,9}]] and an optional zone (Z, +HH, +HH:MM,
// +HHMM, -…), as microseconds with the zone's offset subtracted (so it may leave [0, 1 day)).
// `loose` (the other spellings below) also takes a one-digit hour and an AM/PM marker (optionally
// after a space) in place of a zone. False unless the whole rest is a time.
static inline bool ParseTimeOfDay(const char* p, size_t i, size_t n, bool loose, int64_t* micros) {
  int hh = 0, mi = 0, ss = 0;
  const size_t h0 = i;
  while (i < n && i - h0 < 2 && IsDigit(p[i])) hh = hh * 10 + (p[i++] - '0');
  if ((loose ? i == h0 : i - h0 != 2) || i + 3 > n || p[i] != ':' || !Digits(p + i + 1, 2, &mi)) return false;
  i += 3;
  int64_t frac = 0;
  if (i < n && p[i] == ':') {
    if (i + 3 > n || !Digits(p + i + 1, 2, &ss)) return false;
    i += 3;
    if (i < n && p[i] == '.') {
      i++;
      size_t k = 0;
      int64_t scale = 100000;
      while (i < n && IsDigit(p[i])) {
        if (k < 6) { frac += (p[i] - '0') * scale; scale /= 10; }
        i++; k++;
      }
      if (k == 0 || k > 9) return false;
    }
  }
  int64_t offsetMin = 0;
  if (i < n) {
    const size_t j = p[i] == ' ' ? i + 1 : i;
    if (loose && j + 2 == n && (Lower(p[j]) == 'a' || Lower(p[j]) == 'p') && Lower(p[j + 1]) == 'm') {
      if (hh < 1 || hh > 12) return false;
      hh = hh % 12 + (Lower(p[j]) == 'p' ? 12 : 0);
    } else if (p[i] == 'Z' && i + 1 == n) {
    } else if (p[i] == '+' || p[i] == '-') {
      const int sign = p[i] == '-' ? -1 : 1;
      int oh, om = 0;
      if (i + 3 > n || !Digits(p + i + 1, 2, &oh)) return false;
      size_t k = i + 3;
      if (k < n && p[k] == ':') k++;
      if (k < n && (k + 2 != n || !Digits(p + k, 2, &om))) return false;
      if (oh > 23 || om > 59) return false;
      offsetMin = sign * (oh * 60 + om);
    } else {
      return false;
    }
  }
  if (hh > 23 || mi > 59 || ss > 60) return false;
  *micros = (static_cast<int64_t>(hh) * 3600 + mi * 60 + ss - offsetMin * 60) * 1000000 + frac;
  return true;
}

// YYYY-MM-DD[T ]HH:MM[:SS[.f{1,9}]][Z|+HH[:MM]|-HH[:MM]] -> microseconds since the epoch (UTC).
// `allowDate`: a bare date is midnight (used once a column is known to be timestamps).
static inline bool ParseTimestamp(const char* p, size_t n, int64_t* out, bool allowDate) {
  int32_t days;
  if (n < 10 || !ParseDate(p, 10, &days)) return false;
  if (n == 10) {
    if (!allowDate) return false;
    *out = static_cast<int64_t>(days) * 86400000000LL;
    return true;
  }
  int64_t t;
  if (p[10] != 'T' && p[10] != ' ') return false;
  if (!ParseTimeOfDay(p, 11, n, false, &t)) return false;
  *out = static_cast<int64_t>(days) * 86400000000LL + t;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Other datetime spellings. Besides ISO 8601 (above: the fast path), a column of dates or
// timestamps may be spelled `2015/01/01 01:00:00`, `2015.1.5`, `01/31/2024 1:05 PM`,
// `31-01-2024 23:59:59.5`: three digit groups with one separator ('-', '/' or '.'), the year
// (4 digits) first or last, then optionally [T or space] H[H]:MM[:SS[.f{1,9}]] and either an
// AM/PM marker or a zone (Z, +HH, +HH:MM, +HHMM; converted to UTC). A year-last spelling is
// ambiguous between month/day/year and day/month/year: each value says which orders it can be
// read in (a bit mask), a column keeps the AND over its values, and a column that fits both is
// read month-first (the US spelling, and pandas' default dayfirst=False; note that DuckDB 1.5's
// sniffer picks %d/%m/%Y for such a column); once a value needs day-first (a first field above
// 12) the column is day-first. A column whose values agree on no order is text.

enum : uint8_t { ORD_YMD = 1, ORD_MDY = 2, ORD_DMY = 4, ORD_ALL = 7 };

// The order a column with orders `m` is read in (year first, else month first, else day first).
static inline uint8_t PreferredOrder(uint8_t m) {
  return (m & ORD_YMD) ? ORD_YMD : (m & ORD_MDY) ? ORD_MDY : (m & ORD_DMY) ? ORD_DMY : 0;
}

static inline bool IsDateType(CType t) { return t == CType::DATE || t == CType::TIMESTAMP; }

struct DtParts {
  int g[3];             // the three date fields in text order
  bool yearFirst;
  bool hasTime;
  int64_t timeMicros;   // time of day minus the zone offset, microseconds (may leave [0, 1 day))
};

// Reads the spelling (not yet the calendar: see DtOrders). False when it is not one.
static inline bool ScanDateTime(const char* p, size_t n, DtParts* o) {
  if (n < 8 || n > 48 || !IsDigit(p[0])) return false;
  size_t i = 0, len[3];
  char sep = 0;
  for (int k = 0; k < 3; k++) {
    const size_t s = i;
    int v = 0;
    while (i < n && i - s < 4 && IsDigit(p[i])) v = v * 10 + (p[i++] - '0');
    len[k] = i - s;
    if (len[k] == 0) return false;
    o->g[k] = v;
    if (k < 2) {
      if (i >= n) return false;
      const char c = p[i];
      if (c != '-' && c != '/' && c != '.') return false;
      if (k == 0) sep = c;
      else if (c != sep) return false;
      i++;
    }
  }
  if (len[0] == 4 && len[1] <= 2 && len[2] <= 2) o->yearFirst = true;
  else if (len[2] == 4 && len[0] <= 2 && len[1] <= 2) o->yearFirst = false;
  else return false;
  o->hasTime = false;
  o->timeMicros = 0;
  if (i == n) return true;
  if (p[i] != 'T' && p[i] != ' ') return false;
  if (!ParseTimeOfDay(p, i + 1, n, true, &o->timeMicros)) return false;
  o->hasTime = true;
  return true;
}

// The orders (ORD_*) in which the scanned fields are a valid calendar date.
static inline uint8_t DtOrders(const DtParts& d) {
  if (d.yearFirst) return ValidYmd(d.g[0], d.g[1], d.g[2]) ? ORD_YMD : 0;
  uint8_t m = 0;
  if (ValidYmd(d.g[2], d.g[0], d.g[1])) m |= ORD_MDY;
  if (ValidYmd(d.g[2], d.g[1], d.g[0])) m |= ORD_DMY;
  return m;
}

// Days since 1970-01-01 of the scanned fields read in `order` (one ORD_* bit the value fits).
static inline int64_t DtDays(const DtParts& d, uint8_t order) {
  if (order == ORD_YMD) return DaysFromCivil(d.g[0], static_cast<unsigned>(d.g[1]), static_cast<unsigned>(d.g[2]));
  if (order == ORD_MDY) return DaysFromCivil(d.g[2], static_cast<unsigned>(d.g[0]), static_cast<unsigned>(d.g[1]));
  return DaysFromCivil(d.g[2], static_cast<unsigned>(d.g[1]), static_cast<unsigned>(d.g[0]));
}

// A date or timestamp read in the preferred order of `orders` -> microseconds since the epoch (UTC);
// *hasTime says whether it had a time of day. ISO spellings take the fast parsers.
static inline bool ParseDateTimeIn(const char* p, size_t n, uint8_t orders, int64_t* micros, bool* hasTime) {
  const uint8_t ord = PreferredOrder(orders);
  if (ord == ORD_YMD) {
    int32_t days;
    if (n == 10 && ParseDate(p, n, &days)) { *micros = static_cast<int64_t>(days) * 86400000000LL; *hasTime = false; return true; }
    if (n > 10 && ParseTimestamp(p, n, micros, false)) { *hasTime = true; return true; }
  }
  DtParts d;
  if (!ord || !ScanDateTime(p, n, &d) || !(DtOrders(d) & ord)) return false;
  *micros = DtDays(d, ord) * 86400000000LL + d.timeMicros;
  *hasTime = d.hasTime;
  return true;
}

// The narrowest type of one (non-null) field; for dates and timestamps *orders says in which
// orders it can be read (ISO: year first).
static inline CType ClassifyOrd(const char* p, size_t n, uint8_t* orders) {
  *orders = 0;
  if (IsNullToken(p, n)) return CType::NUL;
  bool b;
  if (ParseBool(p, n, &b)) return CType::BOOL;
  int64_t i;
  bool ovf;
  if (ParseInt(p, n, &i, &ovf)) return CType::INT64;
  double d;
  if (ParseFloat(p, n, &d)) return CType::FLOAT64;  // also integers beyond int64
  if (n == 10) { int32_t dd; if (ParseDate(p, n, &dd)) { *orders = ORD_YMD; return CType::DATE; } }
  if (n > 10 && n <= 40) { int64_t ts; if (ParseTimestamp(p, n, &ts, false)) { *orders = ORD_YMD; return CType::TIMESTAMP; } }
  DtParts dt;
  if (ScanDateTime(p, n, &dt)) {
    const uint8_t m = DtOrders(dt);
    if (m) { *orders = m; return dt.hasTime ? CType::TIMESTAMP : CType::DATE; }
  }
  return CType::STRING;
}

static inline CType Classify(const char* p, size_t n) {
  uint8_t o;
  return ClassifyOrd(p, n, &o);
}

// A number's text without the leading zeros of its integer part ("007.5" -> "7.5", "-00" -> "-0"):
// a column forced to a number reads codes like "007" as numbers.
static inline std::string DropLeadingZeros(const char* p, size_t n) {
  const size_t s = (n > 0 && (p[0] == '-' || p[0] == '+')) ? 1 : 0;
  size_t k = s;
  while (k + 1 < n && p[k] == '0' && IsDigit(p[k + 1])) k++;
  std::string t(p, s);
  t.append(p + k, n - k);
  return t;
}

// A boolean as a user forcing a column to bool may spell it: true/false, t/f, yes/no, y/n, 1/0.
static inline bool ParseBoolLoose(const char* p, size_t n, bool* out) {
  if (ParseBool(p, n, out)) return true;
  if (IEq(p, n, "1") || IEq(p, n, "t") || IEq(p, n, "y") || IEq(p, n, "yes")) { *out = true; return true; }
  if (IEq(p, n, "0") || IEq(p, n, "f") || IEq(p, n, "n") || IEq(p, n, "no")) { *out = false; return true; }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Text encoding: a field that is not valid UTF-8 is transcoded from Windows-1252 (cp1252 mode
// transcodes every field with high bytes).

static inline bool ValidUtf8(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return false;
    i += len;
  }
  return true;
}

static inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) out->push_back(static_cast<char>(cp));
  else if (cp < 0x800) { out->push_back(static_cast<char>(0xC0 | (cp >> 6))); out->push_back(static_cast<char>(0x80 | (cp & 0x3F))); }
  else { out->push_back(static_cast<char>(0xE0 | (cp >> 12))); out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F))); out->push_back(static_cast<char>(0x80 | (cp & 0x3F))); }
}

static inline void Cp1252ToUtf8(const unsigned char* s, size_t n, std::string* out) {
  static const uint16_t hi[32] = {0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                                  0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
                                  0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178};
  out->clear();
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    if (c < 0x80) out->push_back(static_cast<char>(c));
    else if (c < 0xA0) AppendUtf8(hi[c - 0x80], out);
    else AppendUtf8(c, out);
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

struct Dialect {
  char delim = ',';
  char quote = '"';
  char term = '\n';    // '\n' (LF and CRLF files; a trailing CR is stripped) or '\r' (old Mac files)
  bool special[256] = {};
  void Init() {
    std::memset(special, 0, sizeof special);
    special[static_cast<unsigned char>(delim)] = true;
    special[static_cast<unsigned char>(term)] = true;
    if (quote) special[static_cast<unsigned char>(quote)] = true;
  }
};

struct FieldRef {
  const char* p;
  uint32_t n;
  bool quoted;  // contains quote characters (needs unquoting)
};

// Fields of one row. Members are stored one by one (never a whole struct built on the stack and
// copied: that pattern caused a store-forwarding stall that cost a quarter of the parse time).
struct Fields {
  std::vector<FieldRef> v = std::vector<FieldRef>(16);
  size_t n = 0;
  size_t size() const { return n; }
  FieldRef& operator[](size_t i) { return v[i]; }
  FieldRef& back() { return v[n - 1]; }
  bool empty() const { return n == 0; }
  inline void Add(const char* p, const char* e, bool q) {
    if (n == v.size()) v.resize(n * 2);
    FieldRef& r = v[n++];
    r.p = p;
    r.n = static_cast<uint32_t>(e - p);
    r.quoted = q;
  }
};

// Tokenizes one row from p (a row start outside quotes). Fields go into `f`; returns the pointer
// past the row terminator (or `end`). `lines` counts every terminator byte consumed. `inq_at_end`
// tells whether the row ran into `end` inside quotes (an unterminated quoted field).
static inline const char* ScanRow(const char* p, const char* end, const Dialect& d, Fields& f,
                           uint64_t& lines, bool* inq_at_end) {
  f.n = 0;
  const char* fs = p;
  bool inq = false, anyq = false;
  const bool* sp = d.special;
  const char quote = d.quote, term = d.term;
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  const uint64_t bd = ones * static_cast<unsigned char>(d.delim);
  const uint64_t bt = ones * static_cast<unsigned char>(term);
  const uint64_t bq = quote ? ones * static_cast<unsigned char>(quote) : bd;
  for (;;) {
    // SWAR: find the next delimiter / quote / terminator 8 bytes at a time (the lowest flagged
    // byte of the zero-byte trick is exact, so ctz gives the first special byte).
    while (p + 8 <= end) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      const uint64_t x1 = w ^ bd, x2 = w ^ bt, x3 = w ^ bq;
      const uint64_t m = ((x1 - ones) & ~x1) | ((x2 - ones) & ~x2) | ((x3 - ones) & ~x3);
      const uint64_t hit = m & highs;
      if (hit) { p += __builtin_ctzll(hit) >> 3; goto found; }
      p += 8;
    }
    while (p < end && !sp[static_cast<unsigned char>(*p)]) p++;
    if (p >= end) break;
  found:
    const char c = *p;
    if (c == quote) { inq = !inq; anyq = true; p++; continue; }
    if (c == term) {
      lines++;
      if (inq) { p++; continue; }
      f.Add(fs, p, anyq);
      *inq_at_end = false;
      return p + 1;
    }
    if (inq) { p++; continue; }
    f.Add(fs, p, anyq);
    p++;
    fs = p;
    anyq = false;
  }
  f.Add(fs, p, anyq);
  *inq_at_end = inq;
  return p;
}

// Block-indexed tokenizer (the hot path of ParsePiece): the bytes are classified 64 at a time
// into a bitmask of special characters (delimiter / quote / terminator; SSE2, which every x86-64
// has, or a scalar loop elsewhere), and fields are found by walking the set bits. Unlike the SWAR
// loop in ScanRow, finding the next field never waits on a load at the previous field's end, and
// one block serves several fields. The scanner persists across rows: ScanRowIdx must be called
// with p = the return value of the previous call (it visits every special byte once, in order,
// exactly like ScanRow, so both give the same rows, fields and line counts).
struct BlockScan {
  const char* blk = nullptr;  // start of the current 64-byte block
  const char* end = nullptr;
  uint64_t bits = 0;          // special bytes of the block not yet visited
  void Reset(const char* p, const char* e, const Dialect& d) {
    end = e;
    Load(p, d);
  }
  inline void Load(const char* p, const Dialect& d) {
    blk = p;
    uint64_t m = 0;
    if (p + 64 <= end) {
#if defined(__SSE2__)
      const __m128i vd = _mm_set1_epi8(d.delim), vt = _mm_set1_epi8(d.term);
      const __m128i vq = _mm_set1_epi8(d.quote ? d.quote : d.delim);
      for (int k = 0; k < 4; k++) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
        const __m128i h = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vt)), _mm_cmpeq_epi8(x, vq));
        m |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(h))) << (16 * k);
      }
#else
      const bool* sp = d.special;
      for (int k = 0; k < 64; k++) m |= static_cast<uint64_t>(sp[static_cast<unsigned char>(p[k])]) << k;
#endif
    } else {
      const bool* sp = d.special;
      const int n = static_cast<int>(end - p);
      for (int k = 0; k < n; k++) m |= static_cast<uint64_t>(sp[static_cast<unsigned char>(p[k])]) << k;
    }
    bits = m;
  }
  // The next special byte at or after the last visited one, or `end`.
  inline const char* Next(const Dialect& d) {
    while (!bits) {
      if (blk + 64 >= end) return end;
      Load(blk + 64, d);
    }
    const char* q = blk + __builtin_ctzll(bits);
    bits &= bits - 1;
    return q;
  }
};

static inline const char* ScanRowIdx(const char* p, BlockScan& bs, const Dialect& d, Fields& f,
                                     uint64_t& lines, bool* inq_at_end) {
  f.n = 0;
  const char* fs = p;
  const char* const end = bs.end;
  bool inq = false, anyq = false;
  const char quote = d.quote, term = d.term;
  for (;;) {
    p = bs.Next(d);
    if (p >= end) break;
    const char c = *p;
    if (c == quote && quote) { inq = !inq; anyq = true; continue; }
    if (c == term) {
      lines++;
      if (inq) continue;
      f.Add(fs, p, anyq);
      *inq_at_end = false;
      return p + 1;
    }
    if (inq) continue;
    f.Add(fs, p, anyq);
    fs = p + 1;
    anyq = false;
  }
  f.Add(fs, end, anyq);
  *inq_at_end = inq;
  return end;
}

// The value of a field: enclosing quotes removed and doubled quotes collapsed (into `scratch`).
// A field with quotes that is not fully enclosed ("ab"c) keeps its raw text.
static inline void FieldValue(const FieldRef& r, char quote, std::string& scratch, const char** p, size_t* n) {
  if (!r.quoted || r.n < 2 || r.p[0] != quote || r.p[r.n - 1] != quote) { *p = r.p; *n = r.n; return; }
  const char* b = r.p + 1;
  const char* e = r.p + r.n - 1;
  const char* q = static_cast<const char*>(std::memchr(b, quote, static_cast<size_t>(e - b)));
  if (!q) { *p = b; *n = static_cast<size_t>(e - b); return; }
  scratch.assign(b, q);
  for (const char* s = q; s < e; s++) {
    scratch.push_back(*s);
    if (*s == quote && s + 1 < e && s[1] == quote) s++;
  }
  *p = scratch.data();
  *n = scratch.size();
}

}  // namespace csv
}  // namespace cdx
