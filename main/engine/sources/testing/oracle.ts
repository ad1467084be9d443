/**
 * Test-only helpers: DuckDB as an independent reader (devDependency, never used by the product),
 * and a text rendering of one stored Arrow cell in the same notation the DuckDB queries produce,
 * so values can be compared exactly (int64 as decimal text, timestamps as epoch microseconds,
 * dates as days, decimals as plain decimal text).
 */
import { Type, makeVector, util, type Data } from 'apache-arrow';
import type { Field } from '../../../../shared/datashape';

export async function duckdb(): Promise<{ all: (sql: string) => Promise<unknown[][]>; close: () => void } | undefined> {
  try {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const con = await inst.connect();
    await con.run('SET threads = 1');
    return {
      all: async (sql: string) => (await con.runAndReadAll(sql)).getRows() as unknown[][],
      close: () => { con.closeSync?.(); inst.closeSync?.(); },
    };
  } catch (e) {
    console.log(`[skip] DuckDB unavailable: ${(e as Error).message}`);
    return undefined;
  }
}

/** One query on a fresh in-memory DuckDB, opened and closed around it (throws when DuckDB is missing). */
export async function duckQuery(sql: string): Promise<unknown[][]> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  try {
    return (await con.runAndReadAll(sql)).getRows() as unknown[][];
  } finally {
    con.closeSync();
    inst.closeSync();
  }
}

export const q = (name: string) => '"' + name.replace(/"/g, '""') + '"';

/** DuckDB SQL rendering a column in the notation of `cellText`. */
export function duckExpr(f: Field): string {
  const c = q(f.name);
  switch (f.type) {
    case 'float16': case 'float32': case 'float64': return `CAST(${c} AS DOUBLE)`;
    case 'binary': return `hex(${c})`;
    case 'date': return `CAST((${c} - DATE '1970-01-01') AS VARCHAR)`;
    case 'timestamp': return `CAST(epoch_us(${c}) AS VARCHAR)`;
    case 'json': return `CASE WHEN ${c} IS NULL THEN NULL ELSE 'x' END`;
    case 'time': return `CAST(${c} AS VARCHAR)`;
    default: return `CAST(${c} AS VARCHAR)`;
  }
}

function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let s = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    s = s.padStart(scale + 1, '0');
    s = s.slice(0, -scale) + '.' + s.slice(-scale);
  }
  return (neg ? '-' : '') + s;
}

const perUs: Record<string, bigint> = { s: 1_000_000n, ms: 1000n, us: 1n };

/** A cell as text (or number for floats, null for nulls) in DuckDB's notation from duckExpr. */
export function cellText(f: Field, data: Data, i: number): string | number | null {
  if (!data.getValid(i)) return null;
  const v = data.values as any;
  switch (f.type) {
    case 'json': return 'x';
    case 'float16': return util.uint16ToFloat64(v[i]);
    case 'float32': case 'float64': return v[i];
    case 'bool': return makeVector(data).get(i) ? 'true' : 'false';
    case 'decimal': {
      let x = 0n;
      for (let w = 3; w >= 0; w--) x = (x << 32n) | BigInt(v[i * 4 + w] >>> 0);
      return decimalText(BigInt.asIntN(128, x), f.scale ?? 0);
    }
    case 'timestamp': {
      const raw = BigInt(v[i]);
      return String(f.unit === 'ns' ? raw / 1000n - (raw < 0n && raw % 1000n !== 0n ? 1n : 0n) : raw * perUs[f.unit ?? 'us']);
    }
    case 'binary': {
      const b = makeVector(data).get(i) as Uint8Array;
      return Buffer.from(b).toString('hex').toUpperCase();
    }
    case 'string': case 'time': return String(makeVector(data).get(i));
    default: {
      if (data.type.typeId === Type.Utf8) return String(makeVector(data).get(i));
      return String(v[i]);
    }
  }
}

/** Compare one column: returns the first mismatch as text, or undefined. */
export function compareColumn(f: Field, ours: { data: Data; i: number }[], theirs: unknown[]): string | undefined {
  if (ours.length !== theirs.length) return `${f.name}: ${ours.length} rows vs ${theirs.length}`;
  for (let r = 0; r < ours.length; r++) {
    const a = cellText(f, ours[r].data, ours[r].i);
    let b = theirs[r] as any;
    if (typeof b === 'bigint') b = String(b);
    if (a === null || b === null || b === undefined) {
      if ((a === null) !== (b === null || b === undefined)) return `${f.name}[${r}]: ${a} vs ${b}`;
      continue;
    }
    if (typeof a === 'number') {
      const bn = Number(b);
      if (Number.isNaN(a) && Number.isNaN(bn)) continue;
      const tol = f.type === 'float16' ? 1e-3 : f.type === 'float32' ? 1e-6 : 1e-12;
      if (!(Math.abs(a - bn) <= tol * Math.max(1, Math.abs(bn)))) return `${f.name}[${r}]: ${a} vs ${bn}`;
      continue;
    }
    if (a !== String(b)) return `${f.name}[${r}]: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  }
  return undefined;
}
