/**
 * What the database writers (postgres.ts, clickhouse.ts) share: the target as convert.ts hands it
 * over (ctx.out is the connection's canonical text without a secret, ctx.inner the table as
 * written after `::`), the password lookup, and the provider's extra method `tableExists` that lets
 * the pipeline refuse an existing table (E_EXISTS) before reading any input.
 */
import { CdxError } from '../../../shared/errors';
import { connectionLabel, parseDbLocation } from '../sql/url';
import type { DbKind, DbLocation } from '../sql/types';
import { passwordFor } from '../sql/secrets';
import type { WriterProvider } from './types';

export interface DbTarget {
  location: DbLocation;
  /** the connection as the user names it, without secret */
  label: string;
  table: { schema?: string; name: string };
  /** `LABEL::TABLE`: what error messages and the CdxError's `file` name */
  display: string;
}

export interface DbWriterProvider extends WriterProvider {
  kind: DbKind;
  /** does the target table (or view) exist? (E_AUTH / E_CONNECT … naming the connection when it cannot be asked) */
  tableExists(out: string, inner: string | undefined, datasetName: string): Promise<boolean>;
}

export function isDbWriter(w: WriterProvider): w is DbWriterProvider {
  return typeof (w as Partial<DbWriterProvider>).tableExists === 'function';
}

/** The target of a database writer: ctx.out (a database URL without table) and the table (ctx.inner, else the option, else the input's name). */
export function dbTarget(out: string, inner: string | undefined, tableOption: string | undefined, datasetName: string): DbTarget {
  const table = inner ?? tableOption;
  const { location } = parseDbLocation(table !== undefined ? `${out}::${table}` : out);
  if (location.sql !== undefined) throw CdxError.file('E_BAD_ARG', out, 'a query cannot be written to: name a table after "::"');
  const t = location.table ?? { name: datasetName };
  const label = connectionLabel(location);
  const shown = (t.schema !== undefined ? quoteShown(t.schema) + '.' : '') + quoteShown(t.name);
  return { location: { ...location, table: t }, label, table: t, display: `${label}::${shown}` };
}

function quoteShown(p: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(p) ? p : '"' + p.replace(/"/g, '""') + '"';
}

/** The password for the target: the lead's secrets lookup (session, keychain, PGPASSWORD / ~/.pgpass, CLICKHOUSE_PASSWORD). */
export function targetPassword(t: DbTarget): string | undefined {
  const l = t.location;
  return passwordFor(t.label, l.kind, { host: l.host, port: l.port, database: l.database, user: l.user });
}

/** Row numbers in messages count from 1 over the rows written. */
export function rowText(rowsBefore: number, i: number): string {
  return `row ${(rowsBefore + i + 1).toLocaleString('en-US')}`;
}
