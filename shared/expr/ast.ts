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
  name: string;
}

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
  | { kind: 'inpolygon'; x: ColumnRef; y: ColumnRef; polygon: [number, number][] };
