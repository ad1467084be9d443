/**
 * Text writers: CSV/TSV (RFC 4180 quoting, UTF-8 with an optional BOM, any one-character
 * delimiter) and NDJSON. Both stream: each record batch is rendered to one string and appended to
 * the temporary file. Values are written exactly (int64 as digits, decimals as their exact text,
 * timestamps at their unit's precision); what text cannot hold (types, a zone's name) is in the
 * fidelity report.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { constants, createGzip, type Gzip } from 'node:zlib';
import type { RecordBatch } from 'apache-arrow';
import type { Field } from '../../../shared/datashape';
import {
  boolOption, checkOptions, choiceOption,
  type ColumnFidelity, type FidelityReport, type WriteOptions, type Writer, type WriterProvider,
} from './types';
import { CdxError } from '../../../shared/errors';
import { base64, cellReader, dateText, isUtcZone, floatText, timeText, timestampText, timeUnitOf, typeLabel, type CellReader } from './values';

/** Appends text to a file, in large writes; gzip-compressed (streamed through zlib) when asked. */
export class TextSink {
  private parts: string[] = [];
  private size = 0;
  private constructor(private fh: FileHandle, private gz?: Gzip) {}
  static async create(path: string, gzip = false): Promise<TextSink> {
    const fh = await open(path, 'wx');
    if (!gzip) return new TextSink(fh);
    const gz = createGzip({ level: 6 });
    const sink = new TextSink(fh, gz);
    gz.on('data', (chunk: Buffer) => {
      sink.pending.push(chunk);
    });
    return sink;
  }
  private pending: Buffer[] = [];
  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
  }
  private async writeBytes(b: Uint8Array): Promise<void> {
    let done = 0;
    while (done < b.length) done += (await this.fh.write(b, done, b.length - done)).bytesWritten;
  }
  private async drainGzip(): Promise<void> {
    const chunks = this.pending;
    this.pending = [];
    for (const c of chunks) await this.writeBytes(c);
  }
  async flush(force = false): Promise<void> {
    if (!force && this.size < 1 << 20) return;
    if (!this.parts.length) return;
    const s = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.gz) {
      await this.fh.write(s, null, 'utf8');
      return;
    }
    const gz = this.gz;
    await new Promise<void>((resolve, reject) => gz.write(Buffer.from(s, 'utf8'), (e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve) => gz.flush(constants.Z_NO_FLUSH, () => resolve()));
    await this.drainGzip();
  }
  async close(): Promise<void> {
    await this.flush(true);
    if (this.gz) {
      const gz = this.gz;
      await new Promise<void>((resolve, reject) => {
        gz.once('end', resolve);
        gz.once('error', reject);
        gz.end();
        gz.resume();
      });
      await this.drainGzip();
    }
    await this.fh.close();
  }
  async abort(): Promise<void> {
    this.parts = [];
    this.gz?.destroy();
    await this.fh.close().catch(() => undefined);
  }
}

function textFidelity(f: Field, format: 'csv' | 'ndjson'): ColumnFidelity {
  const from = typeLabel(f);
  const c = (to: string, status: ColumnFidelity['status'], note?: string): ColumnFidelity => ({ column: f.name, from, to, status, ...(note ? { note } : {}) });
  const typeNote = format === 'csv' ? 'CSV keeps no types: readers infer them again' : undefined;
  switch (f.type) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint8': case 'uint16': case 'uint32': case 'uint64':
      return c('integer text', format === 'csv' ? 'converted' : 'kept',
        [typeNote, (f.type === 'int64' || f.type === 'uint64') ? 'written as exact digits (readers that parse into doubles lose values beyond 2^53)' : ''].filter(Boolean).join('; ') || undefined);
    case 'float16': case 'float32': case 'float64':
      return c('number text', 'converted', format === 'csv'
        ? 'shortest round-trip text; NaN, inf, -inf and -0.0 written as such'
        : 'shortest round-trip text; NaN and ±Infinity (not JSON numbers) written as the strings "NaN", "Infinity", "-Infinity"');
    case 'bool': return c(format === 'csv' ? 'true/false' : 'boolean', format === 'csv' ? 'converted' : 'kept', typeNote);
    case 'string': return c('text', format === 'csv' ? 'converted' : 'kept', format === 'csv'
      ? 'byte for byte (UTF-8); quoted when it holds the delimiter, a quote or a line break; an empty string is written "" (a null is an empty field); codes with leading zeros are kept as text, but a reader may infer numbers'
      : 'byte for byte (UTF-8, JSON-escaped)');
    case 'binary': return c('base64 text', 'converted', 'bytes as base64');
    case 'date': return c('YYYY-MM-DD', 'converted', typeNote);
    case 'timestamp': return c(`ISO 8601 (${f.unit ?? 'us'} precision${f.tz ? ', UTC with Z' : ''})`, f.tz && !isUtcZone(f.tz) ? 'lost' : 'converted',
      f.tz ? (isUtcZone(f.tz) ? 'the instant as UTC (suffix Z)' : `the instant is kept (as UTC, suffix Z); the zone name "${f.tz}" is lost`) : 'local (zone-less) time as written');
    case 'time': return c('HH:MM:SS[.fraction]', 'converted');
    case 'duration': return c(`integer count of ${f.unit ?? 'us'}`, 'converted', 'the unit is not written');
    case 'decimal': return c(format === 'csv' ? 'exact decimal text' : 'string (exact decimal text)', 'converted', 'exact digits; precision/scale not recorded');
    case 'json': return c(format === 'csv' ? 'JSON text' : 'JSON value', format === 'csv' ? 'converted' : 'kept', f.original ? `from ${f.original}` : undefined);
    default: return c('text', 'converted');
  }
}

// ------------------------------------------------------------------------------------------- CSV

const csvOptions = {
  delimiter: 'field delimiter: one character, or tab / comma / semicolon / pipe (default , ; TAB for .tsv)',
  bom: 'write a UTF-8 byte order mark first (Excel): true/false (default false)',
  header: 'write the header row: true/false (default true)',
  quote: 'needed (default: only fields holding the delimiter, a quote, a line break or surrounding spaces) or all',
  newline: 'lf (default) or crlf (strict RFC 4180)',
  null: 'text written for a null (default: empty field)',
};

function parseDelimiter(v: string | undefined, dflt: string, out: string): string {
  if (v === undefined) return dflt;
  const named: Record<string, string> = { tab: '\t', '\\t': '\t', comma: ',', semicolon: ';', pipe: '|', space: ' ' };
  const d = named[v.toLowerCase()] ?? v;
  if ([...d].length !== 1 || d === '"' || d === '\n' || d === '\r') throw CdxError.file('E_BAD_OPTION', out, `option delimiter takes one character other than a quote or a line break, not "${v}"`);
  return d;
}

function csvCell(r: CellReader, type: any, f: Field): (d: any, i: number) => string | null {
  switch (r.kind) {
    case 'float': return (d, i) => { const v = r.get(d, i) as number | null; return v === null ? null : floatText(v); };
    case 'int': case 'bigint': case 'decimal': case 'duration': return (d, i) => { const v = r.get(d, i); return v === null ? null : String(v); };
    case 'bool': return (d, i) => { const v = r.get(d, i); return v === null ? null : v ? 'true' : 'false'; };
    case 'binary': return (d, i) => { const v = r.get(d, i) as Uint8Array | null; return v === null ? null : base64(v); };
    case 'date': return (d, i) => { const v = r.get(d, i) as number | null; return v === null ? null : dateText(v); };
    case 'timestamp': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : timestampText(v, unit, !!f.tz); };
    }
    case 'time': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? null : timeText(v, unit); };
    }
    default: return (d, i) => r.get(d, i) as string | null;
  }
}

export const csvWriter: WriterProvider = {
  format: 'csv',
  extensions: ['csv', 'tsv', 'txt', 'csv.gz', 'tsv.gz'],
  options: csvOptions,
  plan(fields, opts, ctx) {
    checkOptions(this, opts, ctx.out);
    parseDelimiter(opts.delimiter, ',', ctx.out);
    boolOption(opts, 'bom', false, ctx.out);
    boolOption(opts, 'header', true, ctx.out);
    choiceOption(opts, 'quote', ['needed', 'all'] as const, 'needed', ctx.out);
    choiceOption(opts, 'newline', ['lf', 'crlf'] as const, 'lf', ctx.out);
    const notes = [`UTF-8, RFC 4180 quoting (a quote inside a field is doubled); streamed batch by batch${/\.gz$/i.test(ctx.out) ? '; gzip-compressed (.gz)' : ''}`];
    if (opts.null !== undefined) notes.push(`nulls written as "${opts.null}" (a string equal to it is quoted)`);
    return { format: 'csv', columns: fields.map((f) => textFidelity(f, 'csv')), notes };
  },
  async open(fields, schema, opts, ctx): Promise<Writer> {
    const tsv = /\.tsv(\.gz)?$/i.test(ctx.out);
    const delim = parseDelimiter(opts.delimiter, tsv ? '\t' : ',', ctx.out);
    const quoteAll = choiceOption(opts, 'quote', ['needed', 'all'] as const, 'needed', ctx.out) === 'all';
    const nl = choiceOption(opts, 'newline', ['lf', 'crlf'] as const, 'lf', ctx.out) === 'crlf' ? '\r\n' : '\n';
    const nullText = opts.null ?? '';
    const needs = new RegExp(`[${delim.replace(/[\]\\^-]/g, '\\$&')}"\\r\\n]|^\\s|\\s$`);
    const quote = (s: string): string => {
      if (quoteAll || s === '' || s === nullText || needs.test(s)) return '"' + s.replace(/"/g, '""') + '"';
      return s;
    };
    const sink = await TextSink.create(ctx.tmp, /\.gz$/i.test(ctx.out));
    if (boolOption(opts, 'bom', false, ctx.out)) sink.push('\ufeff');
    if (boolOption(opts, 'header', true, ctx.out)) sink.push(fields.map((f) => quote(f.name)).join(delim) + nl);
    const cells = schema.fields.map((af, j) => csvCell(cellReader(af.type), af.type, fields[j]));
    return {
      async write(batch: RecordBatch) {
        const lines: string[] = [];
        // a RecordBatch's columns are the children of its one struct Data
        const data = schema.fields.map((_, j) => batch.data.children[j]);
        for (let i = 0; i < batch.numRows; i++) {
          let line = '';
          for (let j = 0; j < data.length; j++) {
            const v = cells[j](data[j], i);
            if (j) line += delim;
            line += v === null ? nullText : quote(v);
          }
          lines.push(line);
        }
        if (lines.length) sink.push(lines.join(nl) + nl);
        await sink.flush();
      },
      async finish() {
        await sink.close();
        return 'rename';
      },
      abort: () => sink.abort(),
    };
  },
};

// ----------------------------------------------------------------------------------------- NDJSON

function jsonCell(r: CellReader, type: any, f: Field): (d: any, i: number) => string {
  const str = (s: string) => JSON.stringify(s);
  switch (r.kind) {
    case 'float': return (d, i) => {
      const v = r.get(d, i) as number | null;
      if (v === null) return 'null';
      if (Number.isNaN(v)) return '"NaN"';
      if (!Number.isFinite(v)) return v > 0 ? '"Infinity"' : '"-Infinity"';
      return Object.is(v, -0) ? '-0.0' : String(v);
    };
    case 'int': case 'bigint': case 'duration': return (d, i) => { const v = r.get(d, i); return v === null ? 'null' : String(v); };
    case 'bool': return (d, i) => { const v = r.get(d, i); return v === null ? 'null' : v ? 'true' : 'false'; };
    case 'binary': return (d, i) => { const v = r.get(d, i) as Uint8Array | null; return v === null ? 'null' : str(base64(v)); };
    case 'date': return (d, i) => { const v = r.get(d, i) as number | null; return v === null ? 'null' : str(dateText(v)); };
    case 'timestamp': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? 'null' : str(timestampText(v, unit, !!f.tz)); };
    }
    case 'time': {
      const unit = timeUnitOf(type);
      return (d, i) => { const v = r.get(d, i) as bigint | null; return v === null ? 'null' : str(timeText(v, unit)); };
    }
    case 'json': return (d, i) => { const v = r.get(d, i) as string | null; return v === null ? 'null' : v; };
    default: return (d, i) => { const v = r.get(d, i) as string | null; return v === null ? 'null' : str(v); };
  }
}

export const ndjsonWriter: WriterProvider = {
  format: 'ndjson',
  extensions: ['ndjson', 'jsonl', 'ndjson.gz', 'jsonl.gz'],
  options: {},
  plan(fields, opts, ctx): FidelityReport {
    checkOptions(this, opts, ctx.out);
    return { format: 'ndjson', columns: fields.map((f) => textFidelity(f, 'ndjson')), notes: ['one JSON object per line (UTF-8), keys in column order; nulls as null; streamed'] };
  },
  async open(fields, schema, _opts, ctx): Promise<Writer> {
    const sink = await TextSink.create(ctx.tmp, /\.gz$/i.test(ctx.out));
    const keys = fields.map((f) => JSON.stringify(f.name) + ':');
    const cells = schema.fields.map((af, j) => jsonCell(cellReader(af.type), af.type, fields[j]));
    return {
      async write(batch) {
        const data = schema.fields.map((_, j) => batch.data.children[j]);
        const lines: string[] = [];
        for (let i = 0; i < batch.numRows; i++) {
          let line = '{';
          for (let j = 0; j < data.length; j++) line += (j ? ',' : '') + keys[j] + cells[j](data[j], i);
          lines.push(line + '}');
        }
        if (lines.length) sink.push(lines.join('\n') + '\n');
        await sink.flush();
      },
      async finish() {
        await sink.close();
        return 'rename';
      },
      abort: () => sink.abort(),
    };
  },
};
