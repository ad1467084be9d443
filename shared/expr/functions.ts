/**
 * The functions of the expression language, by name: how many arguments each takes and what it
 * does (the parser checks names and counts; shared/expr/value.ts types them; every engine
 * implements the same list: native/src/expr.cc, the JS reference, each SQL dialect).
 */
export interface FunctionInfo {
  min: number;
  max: number;
  /** one line for completions and help */
  doc: string;
}

export const FUNCTIONS: Record<string, FunctionInfo> = {
  abs: { min: 1, max: 1, doc: 'abs(x): absolute value' },
  sqrt: { min: 1, max: 1, doc: 'sqrt(x): square root (null for a negative x)' },
  ln: { min: 1, max: 1, doc: 'ln(x): natural logarithm (null for x ≤ 0)' },
  log: { min: 1, max: 1, doc: 'log(x): natural logarithm, as ln (null for x ≤ 0)' },
  log10: { min: 1, max: 1, doc: 'log10(x): base-10 logarithm (null for x ≤ 0)' },
  log2: { min: 1, max: 1, doc: 'log2(x): base-2 logarithm (null for x ≤ 0)' },
  exp: { min: 1, max: 1, doc: 'exp(x): e to the power x' },
  pow: { min: 2, max: 2, doc: 'pow(x, y): x to the power y' },
  power: { min: 2, max: 2, doc: 'power(x, y): x to the power y' },
  round: { min: 1, max: 2, doc: 'round(x[, digits]): rounded half away from zero' },
  floor: { min: 1, max: 1, doc: 'floor(x): largest integer not above x' },
  ceil: { min: 1, max: 1, doc: 'ceil(x): smallest integer not below x' },
  year: { min: 1, max: 1, doc: 'year(t): the year (UTC)' },
  quarter: { min: 1, max: 1, doc: 'quarter(t): 1 … 4' },
  month: { min: 1, max: 1, doc: 'month(t): 1 … 12' },
  day: { min: 1, max: 1, doc: 'day(t): day of the month, 1 … 31' },
  hour: { min: 1, max: 1, doc: 'hour(t): 0 … 23' },
  minute: { min: 1, max: 1, doc: 'minute(t): 0 … 59' },
  second: { min: 1, max: 1, doc: 'second(t): 0 … 59 (whole seconds)' },
  weekday: { min: 1, max: 1, doc: 'weekday(t): ISO day of the week, Monday 1 … Sunday 7' },
  date_trunc: { min: 2, max: 2, doc: "date_trunc('year'|'quarter'|'month'|'week'|'day'|'hour'|'minute'|'second', t): t rounded down" },
  lower: { min: 1, max: 1, doc: 'lower(s): lower case' },
  upper: { min: 1, max: 1, doc: 'upper(s): upper case' },
  length: { min: 1, max: 1, doc: 'length(s): characters (code points)' },
  substr: { min: 2, max: 3, doc: 'substr(s, start[, length]): characters from start (1-based)' },
  substring: { min: 2, max: 3, doc: 'substring(s, start[, length]): as substr' },
  concat: { min: 1, max: 64, doc: "concat(a, b, …): the texts joined, a null read as ''" },
  contains: { min: 2, max: 2, doc: 'contains(s, t): s holds t' },
  starts_with: { min: 2, max: 2, doc: 'starts_with(s, t): s begins with t' },
  ends_with: { min: 2, max: 2, doc: 'ends_with(s, t): s ends with t' },
  coalesce: { min: 1, max: 64, doc: 'coalesce(a, b, …): the first that is not null' },
  if: { min: 3, max: 3, doc: 'if(condition, a, b): a when the condition holds, else b' },
};

/** The units of date_trunc, finest last. */
export const TRUNC_UNITS = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'] as const;
export type TruncUnit = (typeof TRUNC_UNITS)[number];

/** Date-part functions: the part each extracts. */
export const DATE_PARTS = ['year', 'quarter', 'month', 'day', 'hour', 'minute', 'second', 'weekday'] as const;
export type DatePart = (typeof DATE_PARTS)[number];

/** Type names a cast accepts (`cast(x as T)`, `x::T`), to the language's types. */
export const CAST_NAMES: Record<string, 'int' | 'float' | 'string' | 'bool' | 'date' | 'timestamp'> = {
  int: 'int', integer: 'int', int64: 'int', bigint: 'int',
  float: 'float', float64: 'float', double: 'float', real: 'float',
  string: 'string', text: 'string', varchar: 'string',
  bool: 'bool', boolean: 'bool',
  date: 'date', timestamp: 'timestamp',
};
