/**
 * The filter/selection expression model: a small typed tree that the UI builds (typed text,
 * column menus, brushing), the engine compiles to a native per-row mask, and SQL-backed sources
 * compile to a WHERE clause. Plain JSON-able objects so that they cross every process line as is.
 *
 * Semantics (SQL three-valued logic, collapsed at the top): a comparison with a null operand is
 * unknown; `not unknown` is unknown; `unknown and false` is false; `unknown or true` is true; a row
 * passes the filter only when the whole expression is true. NaN compares like IEEE (every
 * comparison with NaN is false, `!=` is true).
 */

/** A literal value. Integers beyond 2^53 travel as { int: "decimal digits" } to stay exact. */
export type Literal =
  | { kind: 'lit'; value: number }             // float or safe integer
  | { kind: 'lit'; value: string }
  | { kind: 'lit'; value: boolean }
  | { kind: 'lit'; value: null }
  | { kind: 'lit'; int: string }               // exact integer (int64/uint64 range), decimal text
  | { kind: 'lit'; date: string };             // ISO date "2024-01-31" or timestamp "2024-01-31T12:00:00Z"

export interface ColumnRef {
  kind: 'col';
  /** the column's name; for an inline computed value, its canonical text (messages name it so) */
  name: string;
  /**
   * an inline computed value in a column's place: `lower(name) like 'a%'`, `a + b > 10`. Every
   * predicate below applies to it as to a column; engines evaluate the value (shared/expr/value.ts)
   */
  expr?: Value;
}

/**
 * Value expressions (the grown language): arithmetic, functions, conditionals and casts over
 * columns and literals. Typed by shared/expr/value.ts (typeValue): int, float, bool, string, date,
 * timestamp. Semantics, the same in every engine (native, the JS reference, each SQL dialect):
 *  - null in, null out (except coalesce, concat(), is null tests and case/if conditions);
 *  - int op int stays int64 (a result beyond int64 is null); `/` is always float division;
 *    x / 0 and x % 0 are null; float arithmetic is IEEE (NaN, ±inf);
 *  - out-of-domain math (sqrt of a negative, log of a non-positive) is null;
 *  - round(x[, d]) rounds half away from zero; cast of a float to int rounds half away from zero,
 *    null when NaN, infinite or beyond int64; cast of text that does not convert is null;
 *  - date ± int is a date (days); date − date is an int (days);
 *  - date parts and date_trunc are in UTC; weekday is ISO (Monday 1 … Sunday 7);
 *  - text functions count code points; lower/upper are Unicode simple case mappings;
 *    `a || b` is null when either is, concat(a, b, …) reads nulls as ''.
 */
export type ArithOp = '+' | '-' | '*' | '/' | '%';
export type CastType = 'int' | 'float' | 'string' | 'bool' | 'date' | 'timestamp';
export type Value =
  | ColumnRef
  | Literal
  | { kind: 'arith'; op: ArithOp; left: Value; right: Value }
  | { kind: 'neg'; arg: Value }
  /** a function (shared/expr/value.ts FUNCTIONS lists them with their types) */
  | { kind: 'call'; fn: string; args: Value[] }
  /** case when … then … [else …] end; if(c, a, b) is one branch */
  | { kind: 'case'; whens: { when: Expr; then: Value }[]; else?: Value }
  | { kind: 'cast'; arg: Value; to: CastType }
  /** a comparison of two values, as a boolean value (null when unknown) */
  | { kind: 'cmpv'; op: CompareOp; left: Value; right: Value }
  /** a predicate as a boolean value (null when unknown) */
  | { kind: 'pred'; arg: Expr };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/**
 * String predicates (shared/expr/strmatch.ts has their exact rules):
 *  - contains / starts_with / ends_with: substring tests, case-sensitive, by code points;
 *  - like: SQL LIKE (`%` any run, `_` one character, `\` escapes the next character), the whole
 *    string must match; icase = ILIKE (both sides lower-cased per character);
 *  - regex: a regular expression found anywhere in the string (search, as PostgreSQL's `~`), in a
 *    portable subset that DuckDB (RE2), PostgreSQL and the native kernel read alike; `.` matches
 *    any character including a newline; icase = `~*` (Unicode simple case folding).
 * A null string gives unknown; a column that is not a string gives unknown (checkExpr reports it).
 */
export type StringFn = 'contains' | 'starts_with' | 'ends_with';
export type PatternOp = 'like' | 'regex';

export type Expr =
  | { kind: 'cmp'; op: CompareOp; left: ColumnRef; right: Literal }
  | { kind: 'and'; args: Expr[] }
  | { kind: 'or'; args: Expr[] }
  | { kind: 'not'; arg: Expr }
  | { kind: 'in'; col: ColumnRef; values: Literal[]; negated?: boolean }
  | { kind: 'isnull'; col: ColumnRef; negated?: boolean }
  /** lo <= col <= hi (inclusive both ends, as SQL BETWEEN); negated = NOT BETWEEN */
  | { kind: 'between'; col: ColumnRef; lo: Literal; hi: Literal; negated?: boolean }
  /**
   * Half-open range lo <= col < hi, produced by brushing (matches the binning convention, so a
   * brushed bin range selects exactly the rows counted in those bins).
   */
  | { kind: 'range'; col: ColumnRef; lo: number; hi: number }
  /** contains(col, 'x'), starts_with(col, 'x'), ends_with(col, 'x') */
  | { kind: 'match'; op: StringFn; col: ColumnRef; pattern: string }
  /** col [not] like|ilike 'p', col ~ 're' (~* ignores case; !~ and !~* negate) */
  | { kind: 'match'; op: PatternOp; col: ColumnRef; pattern: string; icase?: boolean; negated?: boolean }
  /** Point-in-polygon on two columns (lasso). Even-odd rule; polygon closed implicitly. */
  | { kind: 'inpolygon'; x: ColumnRef; y: ColumnRef; polygon: [number, number][] }
  /** a boolean value as a predicate: true passes, false and null (unknown) do not */
  | { kind: 'test'; arg: Value };
