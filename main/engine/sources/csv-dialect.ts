/**
 * What a CSV file's text says about its layout, decided from a sample: the delimiter (, ; TAB |),
 * the quote (" or ') and the line ending (LF / CRLF / CR) sniffed from the first 64 KiB; whether
 * the first row is a header; the column names; and the lattice along which column types widen
 * (the same as the native parser's Join). Pure functions over text and the typing pass's classes:
 * no I/O.
 */
import type { CsvClass } from '../../../native/csv';

export type LineEnding = 'lf' | 'crlf' | 'cr';

export interface CsvDialect {
  delimiter: string;
  /** '' = no quoting */
  quote: string;
  lineEnding: LineEnding;
}

function splitRows(text: string, delim: string, quote: string, maxRows: number, complete: boolean): number[] {
  const counts: number[] = [];
  let fields = 1, inq = false, rowHasData = false;
  for (let i = 0; i < text.length && counts.length < maxRows; i++) {
    const c = text[i];
    if (quote && c === quote) { inq = !inq; rowHasData = true; continue; }
    if (inq) continue;
    if (c === delim) { fields++; rowHasData = true; continue; }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (rowHasData) counts.push(fields);
      fields = 1;
      rowHasData = false;
      continue;
    }
    rowHasData = true;
  }
  if (complete && rowHasData && counts.length < maxRows) counts.push(fields);
  return counts;
}

/** Sniffs delimiter, quote and line ending from the start of a file (decoded text). */
export function sniffDialect(text: string, complete = false, prefer?: string): CsvDialect & { ncols: number } {
  let lineEnding: LineEnding = 'lf';
  const lf = text.indexOf('\n');
  const cr = text.indexOf('\r');
  if (cr >= 0 && (lf < 0 || cr < lf)) lineEnding = text[cr + 1] === '\n' ? 'crlf' : 'cr';
  let best = { score: -1, delimiter: ',', quote: '"', ncols: 1 };
  for (const quote of ['"', "'"]) {
    for (const delimiter of [',', ';', '\t', '|']) {
      const counts = splitRows(text, delimiter, quote, 100, complete);
      if (!counts.length) continue;
      const freq = new Map<number, number>();
      for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1);
      let mode = 1, mf = 0;
      for (const [c, f] of freq) if (f > mf || (f === mf && c > mode)) { mode = c; mf = f; }
      // consistency first, then more columns; the single quote must be strictly better
      const score = (mode > 1 ? 1 : 0) * 1e6 + Math.round((mf / counts.length) * 1000) * 100 + Math.min(mode, 99) - (quote === "'" ? 0.5 : 0) +
        (delimiter === prefer && mode > 1 ? 150 : 0); // the extension (.tsv, .psv) wins near-ties
      if (score > best.score) best = { score, delimiter, quote, ncols: mode };
    }
  }
  if (!text.includes(best.quote) && best.quote === "'") best.quote = '"';
  return { delimiter: best.delimiter, quote: best.quote, lineEnding, ncols: best.ncols };
}

/** The column count the most rows of `head` have with a given delimiter and quote. */
export function sniffDialectWith(head: string, delimiter: string, quote: string, complete: boolean): number {
  const counts = splitRows(head, delimiter, quote, 100, complete);
  const freq = new Map<number, number>();
  for (const c of counts) freq.set(c, (freq.get(c) ?? 0) + 1);
  let mode = 1, mf = 0;
  for (const [c, f] of freq) if (f > mf) { mode = c; mf = f; }
  return mode;
}

/** The widening lattice (same as the native Join). */
export function joinTypes(a: CsvClass, b: CsvClass): CsvClass {
  if (a === b) return a;
  if (a === 'null') return b;
  if (b === 'null') return a;
  const s = new Set([a, b]);
  if (s.has('int64') && s.has('float64')) return 'float64';
  if (s.has('date') && s.has('timestamp')) return 'timestamp';
  return 'string';
}

/** Column names from the header row (trimmed), c0, c1, … where there is none; duplicates get _1, _2… */
export function columnNames(first: string[] | undefined, n: number, header: boolean): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let j = 0; j < n; j++) {
    let name = header ? (first?.[j] ?? '').trim() : '';
    if (!name) name = `c${j}`;
    let k = 1;
    const base = name;
    while (seen.has(name)) name = `${base}_${k++}`;
    seen.add(name);
    out.push(name);
  }
  return out;
}

/** Is the first row a header? Text above a typed column is a name; all-text columns need unique non-empty names. */
export function decideHeader(first: string[], firstClasses: string[], types: string[]): boolean {
  if (first.length !== types.length) return true;  // a malformed first row is skipped like a header
  let anyTyped = false;
  for (let j = 0; j < types.length; j++) {
    const t = types[j]!;
    const fc = firstClasses[j]!;
    if (t !== 'string' && t !== 'null') {
      anyTyped = true;
      if (fc === 'string') return true;  // text above a typed column: a name
    }
  }
  if (anyTyped) return false;
  // all-text columns: a header when every first cell is non-empty text and names are unique
  const names = first.map((s) => s.trim());
  return firstClasses.every((c) => c === 'string') && new Set(names).size === names.length && names.every((s) => s.length > 0);
}

/** The parser's row terminator (LF also ends CRLF rows: the CR is trimmed). */
export function terminatorOf(d: CsvDialect): '\n' | '\r' {
  return d.lineEnding === 'cr' ? '\r' : '\n';
}

