/**
 * The engine's implementation of the contract (shared/api.ts). Pure Node: runs in the engine
 * process (utilityProcess or forked child) and in-process for the CLI's direct use.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { ColumnStats, DatasetEntry, DatasetOverview, EngineApi, EngineInfo, NativeInfo } from '../../shared/api';
import type { Handlers } from '../../shared/rpc';
import { formatDataShape } from '../../shared/datashape';
import { nativeInfo, regionStats } from '../../native/index';
import { appVersion, sampleDatasetPath } from './paths';
import { readArrowLayout, type ArrowFileLayout } from './arrow-layout';

export class EngineError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

function loadNativeInfo(): NativeInfo {
  try {
    return { loaded: true, ...nativeInfo() };
  } catch (e) {
    return { loaded: false, error: (e as Error).message };
  }
}

export interface EngineServiceOptions {
  samplePath?: string;
}

export function createEngineHandlers(opts: EngineServiceOptions = {}): Handlers<EngineApi> {
  const startedAt = Date.now();
  const samplePath = opts.samplePath ?? sampleDatasetPath();
  const layouts = new Map<string, ArrowFileLayout>();

  const datasets = (): DatasetEntry[] => {
    const out: DatasetEntry[] = [];
    try {
      const st = statSync(samplePath);
      out.push({ id: 'sample', name: path.basename(samplePath), path: samplePath, format: 'arrow', size: st.size, sample: true });
    } catch {
      /* no bundled sample (e.g. a stripped install) */
    }
    return out;
  };

  const find = (id: string): DatasetEntry => {
    const d = datasets().find((x) => x.id === id);
    if (!d) throw new EngineError('E_NO_DATASET', `No dataset "${id}".`);
    return d;
  };

  const layoutOf = async (entry: DatasetEntry): Promise<ArrowFileLayout> => {
    let l = layouts.get(entry.path);
    if (!l) {
      l = readArrowLayout(entry.path);
      layouts.set(entry.path, l);
    }
    return l;
  };

  return {
    info(): EngineInfo {
      return { pid: process.pid, version: appVersion(), startedAt, node: process.version, native: loadNativeInfo() };
    },

    async ping({ ms = 0 }, ctx) {
      const start = Date.now();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, Math.max(0, Math.min(ms, 600_000)));
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new EngineError('E_CANCELLED', 'ping cancelled'));
        });
      });
      return { pid: process.pid, waited: Date.now() - start };
    },

    listDatasets() {
      return datasets();
    },

    async overview({ dataset }): Promise<DatasetOverview> {
      const entry = find(dataset);
      const layout = await layoutOf(entry);
      return { entry: { ...entry, rows: layout.rows }, rows: layout.rows, schema: layout.schema, dataShape: formatDataShape(layout.rows, layout.schema) };
    },

    async columnStats({ dataset, column }, ctx): Promise<ColumnStats> {
      const entry = find(dataset);
      const layout = await layoutOf(entry);
      const regions = layout.numericRegions(column);
      let count = 0, nanCount = 0, sum = 0, min = Infinity, max = -Infinity;
      for (const region of regions) {
        const s = await regionStats(entry.path, region, { signal: ctx.signal });
        count += s.count;
        nanCount += s.nanCount;
        sum += s.sum;
        if (s.min < min) min = s.min;
        if (s.max > max) max = s.max;
      }
      const ni = loadNativeInfo();
      const valid = count - nanCount;
      return {
        dataset,
        column,
        count,
        nanCount,
        min: valid ? min : NaN,
        max: valid ? max : NaN,
        sum,
        mean: valid ? sum / valid : NaN,
        computedBy: `native kernel, ${ni.threads ?? 1} thread${ni.threads === 1 ? '' : 's'}${ni.openmp ? ' (OpenMP)' : ''}`,
      };
    },
  };
}
