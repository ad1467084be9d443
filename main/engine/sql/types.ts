/**
 * Databases as datasets: the one interface each database client implements (PostgreSQL over its
 * wire protocol with `pg`, ClickHouse over its HTTP interface), so that the pushdown in
 * pushdown.ts writes one query plan per view and only the dialect differs. Every cell crosses as
 * the server's own text (or null): the pushdown's SQL chooses the representation (epoch numbers
 * for times, decimal text for int64) and parses it, so no driver's type guessing stands between
 * the server and the result.
 */
import type { SqlDialect } from '../../../shared/expr/sql';
import type { InnerDataset } from '../sources/types';

export type DbKind = 'postgresql' | 'clickhouse';

/** A parsed database location (url.ts). Never holds a secret. */
export interface DbLocation {
  kind: DbKind;
  user: string;
  host: string;
  port: number;
  /** database name ('' for the server's default) */
  database: string;
  /** what follows `::`: a table (`schema.table`, `db.table`, `table`) or nothing (the connection is a container) */
  table?: { schema?: string; name: string };
  /** a query as the dataset (`--sql`, the SQL editor) */
  sql?: string;
  /** driver options from the URL's query string that are not secrets (sslmode, connect_timeout) */
  options: Record<string, string>;
}

export interface ResultColumn {
  name: string;
  /** the server's type name, e.g. `int8`, `timestamptz`, `Nullable(Int64)`, `DateTime('UTC')` */
  type: string;
}

export interface QueryResult {
  columns: ResultColumn[];
  /** each cell as the server's text, or null */
  rows: (string | null)[][];
}

export interface QueryOptions {
  /** cancels the query on the server (PostgreSQL's cancel request; ClickHouse KILL QUERY) */
  signal?: AbortSignal;
  /** a server-side limit on the query's run time, ms */
  timeoutMs?: number;
  /** planner / session settings for this query only (PostgreSQL: SET before, RESET after; ClickHouse: URL settings) */
  settings?: Record<string, string>;
}

export interface RelationColumn {
  name: string;
  /** the server's type name */
  type: string;
  nullable: boolean;
}

export interface Relation {
  /** the relation's columns in order */
  columns: RelationColumn[];
  /** columns of the primary key (PostgreSQL) or sorting key (ClickHouse), in order: keyset pagination */
  key: string[];
  kind: 'table' | 'view' | 'query' | 'distributed';
  /** the engine's own estimate of the row count (pg_class.reltuples, system.parts), when cheap */
  estimatedRows?: number;
}

export interface SqlConnection {
  readonly kind: DbKind;
  readonly dialect: SqlDialect;
  /** the connection as the user names it, without any secret: `postgresql://u@h:5432/db` */
  readonly label: string;
  /** the server's version text */
  serverVersion(): Promise<string>;
  /** runs one statement; params are bound where the protocol has them (PostgreSQL), else must be [] */
  query(sql: string, params?: unknown[], opts?: QueryOptions): Promise<QueryResult>;
  /** runs one statement and yields its rows in batches, in bounded memory */
  stream(sql: string, opts?: QueryOptions & { batchRows?: number }): AsyncIterable<QueryResult>;
  /** the tables and views of the database (a container's listing) */
  listRelations(): Promise<InnerDataset[]>;
  /** the columns and key of a table or view, or of a query (its result's columns) */
  describe(target: { table?: { schema?: string; name: string }; sql?: string }): Promise<Relation>;
  /** the relation as SQL for a FROM clause: a quoted table name, or `(query) AS q` */
  fromClause(target: { table?: { schema?: string; name: string }; sql?: string }): string;
  close(): Promise<void>;
}
