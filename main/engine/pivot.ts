/**
 * Pivot: one key's values become columns (`groupBy`'s `pivot`, the Group view's "Pivot by",
 * `cdx group --pivot KEY`). Computed from the group-by's own result — the groups of the keys plus
 * the pivot key, in key order — reshaped here: one row per combination of the keys, and for each
 * value v of the pivot key (ascending, nulls last: a `null` column) and each measure m a column
 * `v_m` (`v` alone when there is one measure), as DuckDB's PIVOT names them. Because only the
 * group-by's result is reshaped, it works wherever the group-by does (native kernels, PostgreSQL,
 * ClickHouse). A cell with no rows is null, except a count, which is 0. More than `maxValues`
 * values (default 100) is refused with E_TOO_LARGE naming the key and the count: columns are a
 * screen's worth, not a data set's.
 */
import { RecordBatch, Schema as ArrowSchema, Struct, Table, makeData, type Data, type Vector } from 'apache-arrow';
import type { Field } from '../../shared/datashape';
import { CdxError } from '../../shared/errors';
import { orderTable } from './group';
import { gatherRows } from './writers/take';

export const MAX_PIVOT_VALUES = 100;

export interface PivotResult {
  table: Table;
  schema: Field[];
  /** rows (combinations of the keys) before any limit */
  groups: number;
  /** the pivot key's values, as their column-name text */
  values: string[];
}

/** A value's identity (for grouping rows and columns): its type and text. */
function idOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return `d:${v.getTime()}`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'n:NaN' : `n:${v === 0 ? 0 : v}`;
  return `${typeof v}:${String(v)}`;
}

/** A pivot value as a column name: text as is, dates and times in ISO form, null as `null`. */
function nameOf(v: unknown, f: Field): string {
  if (v === null || v === undefined) return 'null';
  if (f.type === 'date' || f.type.startsWith('timestamp')) {
    const ms = v instanceof Date ? v.getTime() : Number(v);
    const iso = new Date(ms).toISOString();
    return f.type === 'date' ? iso.slice(0, 10) : iso.replace(/\.000Z$/, 'Z');
  }
  return String(v);
}

/**
 * Reshapes `grouped` — the group-by of `by` plus `pivot`, sorted by those keys (its fields in
 * `fields`: keys, the pivot key, then the measures) — into one row per combination of `by`, sorted
 * by `sort` (result columns, `-name` descending; default the keys ascending).
 */
export function pivotGroups(
  grouped: Table,
  fields: readonly Field[],
  by: readonly string[],
  pivot: string,
  opts: { sort?: readonly string[]; maxValues?: number; /** measures that count (0 where a cell has no rows) */ counts?: ReadonlySet<string> } = {},
): PivotResult {
  const nk = by.length;
  const keyFields = fields.slice(0, nk);
  const pivotField = fields[nk]!;
  // the result's own names (a key given as an expression is named by the group-by)
  const keyNames = keyFields.map((f) => f.name), pivotName = pivotField.name;
  const measures = fields.slice(nk + 1);
  const n = grouped.numRows;
  if (grouped.batches.length > 1) throw new Error('pivotGroups: one record batch expected');
  const outKeys: Field[] = keyFields.map((f) => ({ ...f, nullable: true }));
  // no groups (no row passes the filter): the keys' columns only
  if (!n || !grouped.batches.length) return { table: new Table(new ArrowSchema(grouped.schema.fields.slice(0, nk))), schema: outKeys, groups: 0, values: [] };
  const batch = grouped.batches[0]!;
  /** the batch's columns `names` as a batch of their own (zero-copy) */
  const columns = (names: readonly string[]): RecordBatch => {
    const at = names.map((nm) => batch.schema.fields.findIndex((f) => f.name === nm));
    const sch = new ArrowSchema(at.map((i) => batch.schema.fields[i]!));
    return new RecordBatch(sch, makeData({ type: new Struct(sch.fields), length: batch.numRows, nullCount: 0, children: at.map((i) => batch.data.children[i]!) }));
  };
  const pv = grouped.getChild(pivotName) as Vector | null;
  const keys = keyNames.map((k) => grouped.getChild(k) as Vector);

  // the pivot key's values, ascending, nulls last (the group-by's own order of that column)
  const byPivot = orderTable(grouped, [{ name: pivotName, desc: false }]);
  const values: { id: string; name: string }[] = [];
  const seen = new Set<string>();
  const pvSorted = byPivot.getChild(pivotName) as Vector | null;
  for (let i = 0; i < byPivot.numRows; i++) {
    const v = pvSorted!.get(i);
    const id = idOf(v);
    if (seen.has(id)) continue;
    seen.add(id);
    values.push({ id, name: nameOf(v, pivotField) });
  }
  const max = opts.maxValues ?? MAX_PIVOT_VALUES;
  if (values.length > max) {
    throw new CdxError('E_TOO_LARGE', `pivot by ${pivot}: it has ${values.length.toLocaleString('en-US')} values, more than ${max} (the most pivot columns); pivot by a key with fewer values, or filter the rows first`, { column: pivot });
  }
  const col = new Map(values.map((v, j) => [v.id, j]));

  // rows: the combinations of `by`, contiguous in the group-by's key order
  const first: number[] = [];
  const cell: Int32Array[] = values.map(() => new Int32Array(0));
  const rowOf = new Int32Array(n);
  let prev = '';
  for (let i = 0; i < n; i++) {
    const id = keys.map((k) => idOf(k.get(i))).join('\u0001');
    if (i === 0 || id !== prev) first.push(i);
    prev = id;
    rowOf[i] = first.length - 1;
  }
  const rows = first.length;
  for (let j = 0; j < values.length; j++) cell[j] = new Int32Array(rows).fill(-1);
  for (let i = 0; i < n; i++) cell[col.get(idOf(pv!.get(i)))!]![rowOf[i]!] = i;

  // the names: v_m, or v with one measure; a clash with a key (or another) gets _2, _3…
  const used = new Set(keyNames);
  const unique = (base: string) => {
    let s = base;
    for (let k = 2; used.has(s); k++) s = `${base}_${k}`;
    used.add(s);
    return s;
  };
  const outFields: Field[] = outKeys.slice();
  const children: Data[] = [];
  const keyBatch = gatherRows(columns(keyNames), Uint32Array.from(first));
  for (let k = 0; k < nk; k++) children.push(keyBatch.data.children[k]!);
  const arrowFields = keyFields.map((_, k) => grouped.schema.fields[k]!);
  for (let j = 0; j < values.length; j++) {
    const idx = new Uint32Array(rows);
    const present = cell[j]!;
    for (let r = 0; r < rows; r++) idx[r] = present[r]! >= 0 ? present[r]! : 0;
    for (let m = 0; m < measures.length; m++) {
      const mf = measures[m]!;
      const name = unique(measures.length === 1 ? values[j]!.name : `${values[j]!.name}_${mf.name}`);
      const src = grouped.getChild(mf.name) as Vector;
      const isCount = !!opts.counts?.has(mf.name);
      const gathered = gatherRows(columns([mf.name]), idx).data.children[0]!;
      // missing cells: null (a count: 0)
      const bitmap = new Uint8Array(Math.ceil(rows / 8));
      let nulls = 0;
      let values2 = gathered.values;
      if (isCount) values2 = (gathered.values as BigInt64Array).slice();
      for (let r = 0; r < rows; r++) {
        const has = present[r]! >= 0;
        if (isCount && !has) (values2 as BigInt64Array)[r] = 0n;
        const ok = isCount ? true : has && src.isValid(present[r]!);
        if (ok) bitmap[r >> 3]! |= 1 << (r & 7);
        else nulls++;
      }
      children.push(makeData({ type: gathered.type, length: rows, nullCount: nulls, nullBitmap: nulls ? bitmap : undefined, data: values2 } as never));
      outFields.push({ ...mf, name, nullable: true });
      arrowFields.push(grouped.schema.fields[nk + 1 + m]!.clone({ name, nullable: true }));
    }
  }
  const schema = new ArrowSchema(arrowFields.map((f, i) => f.clone({ type: children[i]!.type })));
  let table = new Table(schema, new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children })));
  if (opts.sort?.length) {
    const names = outFields.map((f) => f.name);
    const sort = opts.sort.map((s) => {
      const desc = s.startsWith('-');
      const name = s.replace(/^[-+]/, '');
      if (!names.includes(name)) throw new CdxError('E_UNKNOWN_COLUMN', `cannot sort by ${name}: the pivot's columns are ${names.join(', ')}`, { column: name });
      return { name, desc };
    });
    table = orderTable(table, sort);
  }
  return { table, schema: outFields, groups: rows, values: values.map((v) => v.name) };
}
