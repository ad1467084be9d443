/**
 * EngineApi: everything the UI and the CLI can ask of the engine process, declared once.
 * Both transports derive their plumbing from this interface (see rpc.ts). Every method takes one
 * params object and returns a structured-cloneable value; bulk data is Uint8Array (Arrow IPC) or a
 * typed array, never rows as JSON.
 */
import type { Schema } from './datashape';

export interface NativeInfo {
  loaded: boolean;
  openmp?: boolean;
  threads?: number;
  version?: string;
  /** why the native addon could not be loaded */
  error?: string;
}

export interface EngineInfo {
  pid: number;
  version: string;
  startedAt: number;
  node: string;
  native: NativeInfo;
}

export interface DatasetEntry {
  id: string;
  name: string;
  path: string;
  format: string;
  size: number;
  rows?: number | null;
  /** true for the bundled sample */
  sample?: boolean;
}

export interface ColumnStats {
  dataset: string;
  column: string;
  count: number;
  nanCount: number;
  min: number;
  max: number;
  sum: number;
  mean: number;
  /** how the numbers were computed, e.g. "native kernel, 2 threads (OpenMP)" */
  computedBy: string;
}

export interface DatasetOverview {
  entry: DatasetEntry;
  rows: number;
  schema: Schema;
  dataShape: string;
}

export interface EngineApi {
  /** process id, versions, native addon status */
  info(params: Record<string, never>): EngineInfo;
  /** waits `ms` (a cancellable no-op: health checks and tests of cancellation and crashes) */
  ping(params: { ms?: number }): { pid: number; waited: number };
  /** the datasets the engine knows (for now: the bundled sample) */
  listDatasets(params: Record<string, never>): DatasetEntry[];
  /** schema, row count and DataShape line of a dataset */
  overview(params: { dataset: string }): DatasetOverview;
  /** count / min / max / sum / NaN count of a numeric column, by the native kernel over the mapped file */
  columnStats(params: { dataset: string; column: string }): ColumnStats;
}

/** Events the host or engine push to clients. */
export interface EngineStateEvent {
  state: 'starting' | 'ready' | 'crashed' | 'restarting' | 'failed';
  pid?: number;
  reason?: string;
  restarts?: number;
}

export const ENGINE_STATE_EVENT = 'engine-state';
