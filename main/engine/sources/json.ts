/**
 * JSON (an array of objects) and NDJSON (one object per line) readers, both streamed: the file is
 * read in chunks; a JSON array is split into its top-level elements by a small scanner that
 * tracks strings and nesting; NDJSON is split on line ends. Each record is parsed on its own, so
 * memory holds one batch, never the file.
 *
 * Columns are the union of the records' keys in first-seen order. Types are inferred from the
 * first records (info() before any scan reads a sample of 1000 records and reports rows as
 * unknown) and widened over the full pass that scan() makes before it emits anything: bool,
 * int64 (integers beyond 2^53 are parsed exactly, as BigInt), float64 (an int column meeting 3.5),
 * date / timestamp (ISO text), string (mixed scalars become text), json (objects and arrays).
 * After a full pass info() is exact (rows counted, types final).
 *
 * Bad NDJSON lines (and bad array elements) are skipped and reported as warnings with their line
 * numbers; a JSON file whose top level is not an array or object is refused.
 */
import { createReadStream } from 'node:fs';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import { DEFAULT_BATCH_ROWS, buildBatch, checkAbort, schemaOf, selectFields } from './common';
import { type IngestWarning, type ScanOptions, type Source, type SourceInfo, type SourceProvider } from './types';
import { CdxError } from '../../../shared/errors';

const SAMPLE = 1000;
const MAX_WARNINGS = 100;
/** One record (line or array element) larger than this is refused as malformed. */
const MAX_RECORD = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Exact JSON parsing: JSON.parse, unless the text holds an integer literal too long for a double

const LONG_INT = /(?:^|[^\d.eE+-])-?\d{16,}(?![\d.eE])/;

export function parseJsonExact(text: string): unknown {
  if (!LONG_INT.test(text)) return JSON.parse(text);
  let i = 0;
  const ws = () => { while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++; };
  const fail = (): never => { throw new SyntaxError(`Unexpected token at position ${i}`); };
  const value = (depth: number): unknown => {
    if (depth > 512) fail();
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const k = str();
        ws();
        if (text[i++] !== ':') fail();
        o[k] = value(depth + 1);
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return o; }
        fail();
      }
    }
    if (c === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return a; }
        fail();
      }
    }
    if (c === '"') return str();
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m) {
      i += m[0].length;
      if (!m[1] && !m[2]) {
        const n = Number(m[0]);
        return Number.isSafeInteger(n) ? n : BigInt(m[0]);
      }
      return Number(m[0]);
    }
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(lit, i)) { i += lit.length; return v; }
    }
    return fail();
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const v = value(0);
  ws();
  if (i < text.length) fail();
  return v;
}

// ---------------------------------------------------------------------------------------------
// Record streams

interface RawRecord { text: string; line: number }

/** NDJSON: one record per non-blank line. */
async function* ndjsonRecords(path: string, signal?: AbortSignal): AsyncGenerator<RawRecord> {
  let rest = '';
  let line = 0;
  const dec = new TextDecoder('utf-8');
  let first = true;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    if (signal?.aborted) throw CdxError.file('E_CANCELLED', path, 'cancelled');
    let s = rest + dec.decode(chunk as Buffer, { stream: true });
    if (first) { if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); first = false; }
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      line++;
      const t = s.slice(start, nl).trim();
      if (t) yield { text: t, line };
      start = nl + 1;
    }
    rest = s.slice(start);
    if (rest.length > MAX_RECORD) throw CdxError.file('E_CORRUPT', path, `line ${line + 1} is longer than ${MAX_RECORD} bytes`);
  }
  rest += dec.decode();
  if (rest.trim()) yield { text: rest.trim(), line: line + 1 };
}

/** A JSON array's top-level elements (or a single top-level object as one record). */
async function* arrayRecords(path: string, signal?: AbortSignal): AsyncGenerator<RawRecord> {
  const dec = new TextDecoder('utf-8');
  let state: 'start' | 'array' | 'single' | 'end' = 'start';
  let buf = '';
  let elemStart = -1;
  let elemLine = 1;
  let depth = 0;
  let inStr = false;
  let esc = false;
  let line = 1;
  let first = true;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    if (signal?.aborted) throw CdxError.file('E_CANCELLED', path, 'cancelled');
    let s = dec.decode(chunk as Buffer, { stream: true });
    if (first) { if (s.charCodeAt(0) === 0xfeff) s = s.slice(1); first = false; }
    const base = buf.length;
    buf += s;
    let i = base;
    for (; i < buf.length; i++) {
      const c = buf[i];
      if (c === '\n') line++;
      if (inStr) {
        if (esc) esc = false;
        else if (c === '\\') esc = true;
        else if (c === '"') inStr = false;
        continue;
      }
      if (state === 'start') {
        if (c === '[') { state = 'array'; continue; }
        if (c === '{') { state = 'single'; elemStart = i; elemLine = line; depth = 1; continue; }
        if (/\s/.test(c)) continue;
        throw CdxError.file('E_CORRUPT', path, `line ${line}: a JSON file must hold an array of objects or one object`);
      }
      if (state === 'end') {
        if (!/\s/.test(c)) throw CdxError.file('E_CORRUPT', path, `line ${line}: data after the end of the JSON array`);
        continue;
      }
      if (c === '"') { inStr = true; if (elemStart < 0) { elemStart = i; elemLine = line; } continue; }
      if (c === '{' || c === '[') {
        if (elemStart < 0) { elemStart = i; elemLine = line; }
        depth++;
        continue;
      }
      if (c === '}' || c === ']') {
        if (depth === 0 && c === ']' && state === 'array') {
          if (elemStart >= 0) { yield { text: buf.slice(elemStart, i).trim(), line: elemLine }; elemStart = -1; }
          state = 'end';
          continue;
        }
        depth--;
        if (depth === 0 && state === 'single') {
          yield { text: buf.slice(elemStart, i + 1), line: elemLine };
          elemStart = -1;
          state = 'end';
        }
        if (depth < 0) throw CdxError.file('E_CORRUPT', path, `line ${line}: unbalanced brackets`);
        continue;
      }
      if (c === ',' && depth === 0 && state === 'array') {
        if (elemStart >= 0) yield { text: buf.slice(elemStart, i).trim(), line: elemLine };
        else yield { text: '', line };
        elemStart = -1;
        continue;
      }
      if (elemStart < 0 && !/\s/.test(c)) { elemStart = i; elemLine = line; }
    }
    // keep only the unfinished element
    const keep = elemStart >= 0 ? elemStart : buf.length;
    buf = buf.slice(keep);
    if (elemStart >= 0) elemStart = 0;
    if (buf.length > MAX_RECORD) throw CdxError.file('E_CORRUPT', path, `the element starting on line ${elemLine} is larger than ${MAX_RECORD} bytes`);
  }
  if (inStr || depth > 0 || state === 'array' || state === 'single') {
    throw CdxError.file('E_TRUNCATED', path, `the JSON ends inside ${state === 'array' ? 'the array' : 'a value'} (line ${line}): truncated?`);
  }
  if (state === 'start') throw CdxError.file('E_EMPTY', path, 'no JSON value in the file');
}

// ---------------------------------------------------------------------------------------------
// Type inference

type Kind = 'null' | 'bool' | 'int' | 'float' | 'date' | 'timestamp' | 'string' | 'json';

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TS_RE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'boolean': return 'bool';
    // beyond int64: kept exact as text rather than wrapped or rounded
    case 'bigint': return v >= -(2n ** 63n) && v < 2n ** 63n ? 'int' : 'string';
    case 'number': return Number.isInteger(v) ? 'int' : 'float';
    case 'string':
      if (DATE_RE.test(v) && !Number.isNaN(Date.parse(v))) return 'date';
      if (TS_RE.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T')))) return 'timestamp';
      return 'string';
    default: return 'json';
  }
}

function widen(a: Kind, b: Kind): Kind {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if (a === 'json' || b === 'json') return 'json';
  const pair = new Set([a, b]);
  if (pair.has('int') && pair.has('float')) return 'float';
  if (pair.has('date') && pair.has('timestamp')) return 'timestamp';
  return 'string';
}

interface ColState { name: string; kind: Kind; nulls: number; seen: number }

class Typer {
  cols = new Map<string, ColState>();
  records = 0;
  bad = 0;
  warnings: IngestWarning[] = [];
  widened = new Set<string>();

  add(rec: Record<string, unknown>): void {
    this.records++;
    for (const k of Object.keys(rec)) {
      let c = this.cols.get(k);
      if (!c) {
        c = { name: k, kind: 'null', nulls: this.records - 1, seen: 0 };
        this.cols.set(k, c);
      }
      const kd = kindOf(rec[k]);
      const w = widen(c.kind, kd);
      const benign = (a: Kind, b: Kind) => (a === 'int' && b === 'float') || (a === 'float' && b === 'int') || (a === 'date' && b === 'timestamp') || (a === 'timestamp' && b === 'date');
      if (kd !== 'null' && c.kind !== 'null' && kd !== c.kind && !benign(c.kind, kd)) this.widened.add(k);
      c.kind = w;
      c.seen++;
    }
  }

  badRecord(line: number, why: string, path: string): void {
    this.bad++;
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push({ code: 'W_BAD_ROW', line, message: `${path}:${line}: ${why}` });
  }

  fields(): Field[] {
    return [...this.cols.values()].map((c) => {
      const nullable = c.seen < this.records;
      switch (c.kind) {
        case 'null': return { name: c.name, type: 'string', nullable: true };
        case 'bool': return { name: c.name, type: 'bool', nullable };
        case 'int': return { name: c.name, type: 'int64', nullable };
        case 'float': return { name: c.name, type: 'float64', nullable };
        case 'date': return { name: c.name, type: 'date', nullable };
        case 'timestamp': return { name: c.name, type: 'timestamp', unit: 'us', nullable };
        case 'string': return { name: c.name, type: 'string', nullable };
        default: return { name: c.name, type: 'json', nullable };
      }
    });
  }

  allWarnings(): IngestWarning[] {
    const w = [...this.warnings];
    if (this.bad > this.warnings.length) w.push({ code: 'W_BAD_ROW', message: `${this.bad} bad records in all (first ${MAX_WARNINGS} listed)` });
    for (const k of this.widened) w.push({ code: 'W_WIDENED', column: k, message: `values of mixed types: shown as ${this.cols.get(k)!.kind === 'json' ? 'JSON text' : 'text'}` });
    return w;
  }
}

function toValue(f: Field, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (f.type) {
    case 'bool': return v === true;
    case 'int64': return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'float64': return typeof v === 'bigint' ? Number(v) : v;
    case 'date': return Math.floor(Date.parse(`${v}T00:00:00Z`) / 86400000);
    case 'timestamp': {
      const s = String(v);
      const iso = DATE_RE.test(s) ? `${s}T00:00:00Z` : s.replace(' ', 'T') + (/(Z|[+-]\d{2}:?\d{2})$/.test(s) ? '' : 'Z');
      const ms = Date.parse(iso);
      const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
      return BigInt(ms) * 1000n + BigInt(frac.length > 3 ? Number(frac.slice(3, 6).padEnd(3, '0')) : 0);
    }
    case 'string': return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) : String(v);
    default: return v; // json: serialised by buildColumn
  }
}

class JsonSource implements Source {
  private full?: { fields: Field[]; rows: number; warnings: IngestWarning[] };
  constructor(private path: string, private format: 'json' | 'ndjson') {}

  private records(signal?: AbortSignal) {
    return this.format === 'ndjson' ? ndjsonRecords(this.path, signal) : arrayRecords(this.path, signal);
  }

  /** Parse one raw record; returns undefined (and reports it) when it is not an object. */
  private parse(r: RawRecord, typer: Typer): Record<string, unknown> | undefined {
    if (!r.text) { typer.badRecord(r.line, 'empty element', this.path); return undefined; }
    let v: unknown;
    try {
      v = parseJsonExact(r.text);
    } catch (e) {
      typer.badRecord(r.line, `not valid JSON (${(e as Error).message})`, this.path);
      return undefined;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      typer.badRecord(r.line, 'not a JSON object', this.path);
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  private async typePass(limit: number, signal?: AbortSignal): Promise<{ typer: Typer; complete: boolean }> {
    const typer = new Typer();
    let complete = true;
    for await (const r of this.records(signal)) {
      const rec = this.parse(r, typer);
      if (rec) typer.add(rec);
      if (typer.records >= limit) { complete = false; break; }
    }
    return { typer, complete };
  }

  async info(): Promise<SourceInfo> {
    let fields: Field[];
    let rows: number | null;
    let warnings: IngestWarning[];
    if (this.full) {
      ({ fields, rows, warnings } = this.full);
    } else {
      const { typer, complete } = await this.typePass(SAMPLE);
      fields = typer.fields();
      warnings = typer.allWarnings();
      rows = complete ? typer.records : null;
      if (complete) this.full = { fields, rows: typer.records, warnings };
    }
    return { format: this.format, path: this.path, rows, schema: schemaOf(fields), metadata: {}, warnings: [...warnings] };
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<RecordBatch> {
    if (!this.full) {
      const { typer } = await this.typePass(Infinity, opts.signal);
      this.full = { fields: typer.fields(), rows: typer.records, warnings: typer.allWarnings() };
    }
    const fields = selectFields(this.full.fields, opts.columns, this.path);
    const batchRows = opts.batchRows ?? DEFAULT_BATCH_ROWS;
    const sink = new Typer(); // bad records were reported by the typing pass
    let cols: unknown[][] = fields.map(() => []);
    let n = 0;
    let done = 0;
    for await (const r of this.records(opts.signal)) {
      const rec = this.parse(r, sink);
      if (!rec) continue;
      for (let c = 0; c < fields.length; c++) cols[c].push(toValue(fields[c], rec[fields[c].name]));
      if (++n === batchRows) {
        checkAbort(opts.signal, this.path);
        yield buildBatch(fields, cols, n);
        done += n;
        opts.onProgress?.(this.full.rows ? done / this.full.rows : 1);
        cols = fields.map(() => []);
        n = 0;
      }
    }
    if (n > 0) yield buildBatch(fields, cols, n);
    opts.onProgress?.(1);
  }

  async close(): Promise<void> {}
}

function firstChar(head: Uint8Array): string {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  return String.fromCharCode(head[i] ?? 0);
}

/** A `{` file is NDJSON when its first line is a complete object on its own. */
function looksNdjson(head: Uint8Array): boolean {
  const text = new TextDecoder('utf-8').decode(head);
  const nl = text.indexOf('\n');
  if (nl < 0) return false;
  try {
    const v = JSON.parse(text.slice(0, nl).replace(/^\ufeff/, ''));
    return v !== null && typeof v === 'object';
  } catch {
    return false;
  }
}

export const jsonProvider: SourceProvider = {
  format: 'json',
  extensions: ['json'],
  sniff: (head: Uint8Array, path: string) => {
    const c = firstChar(head);
    if (c === '[') return /\.(json|ndjson|jsonl|txt)$/i.test(path) || !/\.\w+$/.test(path);
    return c === '{' && /\.json$/i.test(path) && !looksNdjson(head);
  },
  open: async (path: string) => new JsonSource(path, 'json'),
};

export const ndjsonProvider: SourceProvider = {
  format: 'ndjson',
  extensions: ['ndjson', 'jsonl', 'ldjson'],
  sniff: (head: Uint8Array, path: string) => firstChar(head) === '{' && (/\.(ndjson|jsonl|ldjson)$/i.test(path) || (/\.json$/i.test(path) && looksNdjson(head))),
  open: async (path: string) => new JsonSource(path, 'ndjson'),
};
