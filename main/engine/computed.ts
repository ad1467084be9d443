/**
 * A dataset's computed columns (the user's `defineColumn`): definitions kept in the catalog, in
 * order, each an expression over the stored columns and the computed ones before it. Applied to
 * an opened dataset they are columns like the others — in `columns` (descriptors the kernels
 * evaluate as they read: main/engine/expr-native.ts) and in the schema (with `expr` saying what
 * they are) — so the summary, table, plots, filters, group-by, sort and export all see them, and
 * nothing is written until an export writes them.
 */
import type { Field, PrimitiveType } from '../../shared/datashape';
import { CdxError } from '../../shared/errors';
import { ExprError } from '../../shared/expr/errors';
import { formatValue } from '../../shared/expr/format';
import { parseValue } from '../../shared/expr/parse';
import { valueColumns } from '../../shared/expr/value';
import type { ColumnDesc } from '../../native/index';
import { computedColumn } from './expr-native';
import { datasetColumns } from './filter';

export interface ComputedDef {
  name: string;
  expr: string;
}

/** What applying definitions needs of a dataset (OpenedDataset has it). */
export interface ComputedTarget {
  location: string;
  rows: number;
  schema: { fields: Field[] };
  columns: Map<string, ColumnDesc>;
  unsupported: Map<string, string>;
  computedDefs?: ComputedDef[];
}

/** The schema field of a computed column's descriptor. */
export function computedField(name: string, c: ColumnDesc, expr: string): Field {
  let type: PrimitiveType;
  const f: Field = { name, type: 'float64', nullable: true, expr };
  if (c.kind === 'utf8') type = 'string';
  else if (c.kind === 'bool') type = 'bool';
  else if (c.logical?.type === 'date') type = 'date';
  else if (c.logical?.type === 'timestamp') {
    type = 'timestamp';
    f.unit = c.logical.unit;
    if (c.logical.timezone) f.tz = c.logical.timezone;
  } else type = c.dtype === 'int64' ? 'int64' : 'float64';
  f.type = type;
  return f;
}

/**
 * Puts `defs` on the dataset in place of the computed columns it had. A definition that no longer
 * compiles (a column it reads is gone) is listed among the unsupported columns with the reason,
 * unless `strict`, where it throws (defineColumn: the user is told at once).
 */
export function applyComputed(ds: ComputedTarget, defs: readonly ComputedDef[], strict = false): void {
  for (const d of ds.computedDefs ?? []) {
    if (ds.columns.get(d.name)?.computed) ds.columns.delete(d.name);
    ds.unsupported.delete(d.name);
  }
  const fields = ds.schema.fields.filter((f) => f.expr === undefined);
  const resolve = datasetColumns(ds);
  for (const d of defs) {
    try {
      if (fields.some((f) => f.name === d.name)) throw new CdxError('E_BAD_ARG', `${ds.location} already has a column "${d.name}": a computed column needs a name of its own`, { file: ds.location, column: d.name });
      const value = parseValue(d.expr);
      const c = computedColumn(d.name, value, resolve, ds.rows);
      ds.columns.set(d.name, c);
      fields.push(computedField(d.name, c, formatValue(value)));
    } catch (e) {
      if (strict) throw located(e, ds.location, d);
      ds.unsupported.set(d.name, `the computed column "${d.name}" = ${d.expr} cannot be evaluated: ${e instanceof Error ? e.message : String(e)}`);
      fields.push({ name: d.name, type: 'float64', nullable: true, expr: d.expr });
    }
  }
  ds.schema = { ...ds.schema, fields };
  ds.computedDefs = [...defs];
}

function located(e: unknown, location: string, d: ComputedDef): unknown {
  if (e instanceof ExprError && e.code !== 'E_SYNTAX')
    return new CdxError(e.code, `${location}: computed column "${d.name}": ${e.message}`, { file: location, column: d.name, ...(e.position !== undefined ? { position: e.position } : {}) });
  return e;
}

/**
 * The definitions after defining `name` as `expr` (null: removing it). Refuses what would break:
 * an empty or taken name, an expression that does not parse or type (its position said), a removal
 * or change that a later definition's expression relies on.
 */
export function redefine(ds: ComputedTarget, defs: readonly ComputedDef[], name: string, expr: string | null): ComputedDef[] {
  const n = name.trim();
  if (!n) throw new CdxError('E_BAD_ARG', 'a computed column needs a name');
  const at = defs.findIndex((d) => d.name === n);
  if (expr === null) {
    if (at < 0) throw new CdxError('E_UNKNOWN_COLUMN', `${ds.location} has no computed column "${n}"`, { file: ds.location, column: n });
    const users = defs.slice(at + 1).filter((d) => safeColumns(d.expr).has(n)).map((d) => d.name);
    if (users.length) throw new CdxError('E_BAD_ARG', `the computed column "${n}" is used by ${users.map((u) => `"${u}"`).join(', ')}: remove or change ${users.length > 1 ? 'them' : 'it'} first`, { file: ds.location, column: n });
    return defs.filter((_, i) => i !== at);
  }
  const value = parseValue(expr); // a syntax error points at the position
  if (valueColumns(value).has(n)) throw new CdxError('E_BAD_ARG', `the computed column "${n}" cannot use itself`, { file: ds.location, column: n });
  const def = { name: n, expr: formatValue(value) };
  if (at < 0) return [...defs, def];
  return defs.map((d, i) => (i === at ? def : d));
}

function safeColumns(expr: string): Set<string> {
  try {
    return valueColumns(parseValue(expr));
  } catch {
    return new Set();
  }
}

/** The stored columns a list of names needs read (computed names replaced by what they use). */
export function storedColumnsOf(names: readonly string[], defs: readonly ComputedDef[]): string[] {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const out = new Set<string>();
  const seen = new Set<string>();
  const add = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    const d = byName.get(n);
    if (!d) out.add(n);
    else for (const m of safeColumns(d.expr)) add(m);
  };
  names.forEach(add);
  return [...out];
}

/** What applying definitions to a database dataset needs (sql/dataset.ts SqlDataset). */
export interface SqlComputedTarget {
  what: string;
  schema: { fields: Field[] };
  setComputed(cols: readonly { name: string; value: ReturnType<typeof parseValue> }[]): void;
}

/**
 * `defs` on a database dataset: its SELECTs compute them (SqlDataset.setComputed). Each kept only
 * when it compiles with those before it (a column of the table may be gone); with `strict`, the
 * first that does not throws (defineColumn: the user is told, nothing changes).
 */
export function applyComputedSql(ds: SqlComputedTarget, defs: readonly ComputedDef[], strict = false): void {
  const ok: { name: string; value: ReturnType<typeof parseValue>; expr: string }[] = [];
  for (const d of defs) {
    const next = [...ok, { name: d.name, value: parseValue(d.expr), expr: d.expr }];
    try {
      ds.setComputed(next);
      ok.push(next[next.length - 1]!);
    } catch (e) {
      if (strict) throw e;
    }
  }
  ds.setComputed(ok);
  for (const f of ds.schema.fields) {
    const d = ok.find((x) => x.name === f.name);
    if (d) f.expr = formatValue(d.value);
  }
}
