/**
 * Group-by measures as the user writes them (SQL-like text: `count(), mean(x), p99(y) as slow`),
 * parsed into the functions the native kernel (main/engine/group.ts) and the databases
 * (sql/dataset.ts groupBy) compute alike, and the result type of each.
 */
import type { Field } from '../../shared/datashape';
import { CdxError } from '../../shared/errors';

export type MeasureFn = 'rows' | 'count' | 'sum' | 'mean' | 'min' | 'max' | 'var' | 'std' | 'distinct' | 'quantile';

export interface Measure {
  fn: MeasureFn;
  column?: string;
  q?: number;
  name: string;
}

export interface GroupSpec {
  by: string[];
  measures: Measure[];
  /** e.g. ['-count', 'borough']: a result column, '-' for descending; default the keys ascending */
  sort?: string[];
  limit?: number;
}

const FN_ALIASES: Record<string, MeasureFn> = {
  count: 'count', sum: 'sum', mean: 'mean', avg: 'mean', min: 'min', max: 'max', std: 'std', stddev: 'std', stddev_samp: 'std',
  var: 'var', variance: 'var', var_samp: 'var', distinct: 'distinct', count_distinct: 'distinct', approx_distinct: 'distinct',
  approx_count_distinct: 'distinct', median: 'quantile', quantile: 'quantile',
};

/** Splits on commas outside parentheses and quotes. */
function splitTop(text: string): string[] {
  const out: string[] = [];
  let depth = 0, quote = '', cur = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((s) => s.trim()).filter(Boolean);
}

function unquote(s: string): string {
  const t = s.trim();
  return /^"(.*)"$/s.test(t) ? t.slice(1, -1).replace(/""/g, '"') : t;
}

/** Parses `count(), mean(x), p99(y) as slow` into measures; errors point at the measure. */
export function parseMeasures(text: string): Measure[] {
  const parts = splitTop(text);
  if (!parts.length) throw new CdxError('E_BAD_ARG', 'no measure given; e.g. --agg "count(), mean(fare), p99(fare)"');
  const used = new Set<string>();
  return parts.map((part) => {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)\s*\((.*)\)\s*(?:as\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*))?$/is.exec(part);
    if (!m) throw new CdxError('E_BAD_ARG', `measure "${part}": write it as fn(column), e.g. mean(fare), count(), p99(fare), quantile(fare, 0.9)`);
    const raw = m[1]!.toLowerCase();
    const args = splitTop(m[2]!);
    let fn: MeasureFn;
    let q: number | undefined;
    const pm = /^p(\d+(?:\.\d+)?)$/.exec(raw);
    if (pm) {
      fn = 'quantile';
      q = Number((Number(pm[1]) / 100).toPrecision(12));
      if (!(q >= 0 && q <= 1)) throw new CdxError('E_BAD_ARG', `measure "${part}": a percentile is between p0 and p100`);
    } else if (FN_ALIASES[raw]) {
      fn = FN_ALIASES[raw]!;
      if (raw === 'median') q = 0.5;
    } else {
      throw new CdxError('E_BAD_ARG', `measure "${part}": unknown function ${m[1]} (count, sum, mean, min, max, std, var, distinct, median, pNN, quantile)`);
    }
    if (raw === 'quantile') {
      if (args.length !== 2 || !Number.isFinite(Number(args[1])) || Number(args[1]) < 0 || Number(args[1]) > 1) {
        throw new CdxError('E_BAD_ARG', `measure "${part}": quantile(column, q) with q between 0 and 1`);
      }
      q = Number(args[1]);
      args.pop();
    }
    if (args.length > 1) throw new CdxError('E_BAD_ARG', `measure "${part}": ${m[1]} takes one column`);
    const column = args[0] !== undefined && args[0] !== '*' ? unquote(args[0]) : undefined;
    if (fn === 'count' && !column) fn = 'rows';
    if (fn !== 'rows' && !column) throw new CdxError('E_BAD_ARG', `measure "${part}": ${m[1]} needs a column`);
    const label = pm ? raw : raw === 'median' ? 'median' : fn === 'rows' ? 'count' : raw === 'avg' ? 'mean' : fn === 'distinct' ? 'distinct' : fn;
    let name = m[3] ? unquote(m[3]) : column ? `${label}_${column}` : label;
    if (!m[3]) for (let i = 2; used.has(name); i++) name = `${column ? `${label}_${column}` : label}_${i}`;
    if (used.has(name)) throw new CdxError('E_BAD_ARG', `measure "${part}": the name ${name} is used twice`);
    used.add(name);
    return { fn, ...(column !== undefined ? { column } : {}), ...(q !== undefined ? { q } : {}), name };
  });
}

/** The result type of a measure over a field. */
export function measureField(m: Measure, f: Field | undefined): Field {
  switch (m.fn) {
    case 'rows': case 'count': case 'distinct': return { name: m.name, type: 'int64', nullable: false };
    case 'sum': return { name: m.name, type: f && /^(u?int\d+|bool)$/.test(f.type) ? 'int64' : 'float64', nullable: true };
    case 'min': case 'max': return { ...f!, name: m.name, nullable: true };
    default: return { name: m.name, type: 'float64', nullable: true };
  }
}

