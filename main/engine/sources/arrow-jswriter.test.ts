/**
 * Regression: apache-arrow JS's RecordBatchFileWriter leaves the schema message out of the file's
 * stream part (the schema is only in the footer). Such a file (the bundled sample is one) must read.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dictionary, Int32, Utf8, tableFromArrays, tableToIPC, vectorFromArray, Table } from 'apache-arrow';
import { openSource } from './registry';

describe('Arrow files written by apache-arrow JS', () => {
  it('read with the schema from the footer, values intact', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cdx-jsarrow-'));
    const file = path.join(dir, 'js.arrow');
    const t = tableFromArrays({ x: Float64Array.from([1.5, 2.5, -3]), n: Int32Array.from([7, 8, 9]) });
    const withDict = new Table({ x: t.getChild('x')!, n: t.getChild('n')!, tag: vectorFromArray(['a', 'b', 'a'], new Dictionary(new Utf8(), new Int32())) });
    const bytes = tableToIPC(withDict, 'file');
    writeFileSync(file, bytes);
    const src = await openSource(file);
    const info = await src.info();
    expect(info.rows).toBe(3);
    expect(info.schema.fields.map((f) => f.name)).toEqual(['x', 'n', 'tag']);
    const rows: unknown[][] = [];
    for await (const b of src.scan()) for (let i = 0; i < b.numRows; i++) rows.push([b.getChild('x')!.get(i), b.getChild('n')!.get(i), b.getChild('tag')!.get(i)]);
    expect(rows).toEqual([[1.5, 7, 'a'], [2.5, 8, 'b'], [-3, 9, 'a']]);
    await src.close();
  });
});
