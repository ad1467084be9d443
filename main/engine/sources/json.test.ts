import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonProvider, ndjsonProvider, parseJsonExact } from './json';
import { drain, tempDir } from './testing/util';
import { CdxError } from '../../../shared/errors';

let dir = '';
let cleanup = () => {};
beforeAll(() => { ({ dir, cleanup } = tempDir('cdx-json-')); });
afterAll(() => cleanup());

const col = (b: any, name: string) => b.getChild(name);

describe('ndjson', () => {
  it('infers, widens, keeps int64 exact and reports bad lines by number', async () => {
    const lines = [
      '{"id": 1, "x": 1, "name": "a", "when": "2024-01-02", "tags": [1,2], "big": 9007199254740993}',
      '',
      '{"id": 2, "x": 2.5, "name": null, "when": "2024-01-03T10:00:00Z", "extra": true, "big": -9223372036854775808}',
      'not json at all',
      '[1, 2]',
      '{"id": 3, "x": 3, "name": 7, "when": null, "tags": {"a": 1}, "big": 1}',
    ];
    const p = join(dir, 'a.ndjson');
    writeFileSync(p, lines.join('\n') + '\n');
    const src = await ndjsonProvider.open(p);
    const sample = await src.info();
    expect(sample.rows).toBe(3); // small file: the sample pass was complete
    const { info, batches, rows } = await drain(src);
    expect(rows).toBe(3);
    const t = Object.fromEntries(info.schema.fields.map((f) => [f.name, f.type]));
    expect(t).toEqual({ id: 'int64', x: 'float64', name: 'string', when: 'timestamp', tags: 'json', big: 'int64', extra: 'bool' });
    expect(info.warnings.filter((w) => w.code === 'W_BAD_ROW').map((w) => w.line)).toEqual([4, 5]);
    expect(info.warnings.some((w) => w.code === 'W_WIDENED' && w.column === 'name')).toBe(true);
    const b = batches[0];
    expect(col(b, 'big').get(0)).toBe(9007199254740993n);
    expect(col(b, 'big').get(1)).toBe(-9223372036854775808n);
    expect(col(b, 'x').toArray()).toEqual(new Float64Array([1, 2.5, 3]));
    expect(col(b, 'name').get(2)).toBe('7');
    expect(col(b, 'tags').get(0)).toBe('[1,2]');
    expect(col(b, 'tags').get(2)).toBe('{"a":1}');
    expect(col(b, 'extra').get(0)).toBe(null);
    expect(info.schema.fields.find((f) => f.name === 'extra')?.nullable).toBe(true);
    expect(info.schema.fields.find((f) => f.name === 'id')?.nullable).toBe(false);
  });

  it('streams many records in batches', async () => {
    const p = join(dir, 'many.jsonl');
    const out: string[] = [];
    for (let i = 0; i < 5000; i++) out.push(JSON.stringify({ i, v: i % 7 === 0 ? null : i / 3, s: `r${i}` }));
    writeFileSync(p, out.join('\r\n'));
    const src = await ndjsonProvider.open(p);
    expect((await src.info()).rows).toBe(null); // more than the sample
    const sizes: number[] = [];
    for await (const b of src.scan({ batchRows: 2000 })) sizes.push(b.numRows);
    expect(sizes).toEqual([2000, 2000, 1000]);
    expect((await src.info()).rows).toBe(5000);
  });
});

describe('json array', () => {
  it('reads an array of objects with nesting, strings with brackets and escapes', async () => {
    const p = join(dir, 'a.json');
    writeFileSync(p, '\ufeff[\n {"a": "x]},{[", "b": {"c": [1, {"d": 2}]}},\n {"a": "q\\"uote", "b": null, "n": 12345678901234567890},\n 5,\n {"a": "z"}\n]\n');
    const src = await jsonProvider.open(p);
    const { info, batches, rows } = await drain(src);
    expect(rows).toBe(3);
    // 12345678901234567890 does not fit int64: kept exact, as text
    expect(info.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['a:string', 'b:json', 'n:string']);
    expect(col(batches[0], 'n').get(1)).toBe('12345678901234567890');
    expect(col(batches[0], 'a').get(0)).toBe('x]},{[');
    expect(col(batches[0], 'a').get(1)).toBe('q"uote');
    expect(col(batches[0], 'b').get(0)).toBe('{"c":[1,{"d":2}]}');
    expect(info.warnings.find((w) => w.code === 'W_BAD_ROW')?.line).toBe(4);
  });

  it('refuses truncated and non-array JSON with clear errors', async () => {
    const t = join(dir, 'trunc.json');
    writeFileSync(t, '[{"a": 1}, {"a": 2');
    await expect(drain(await jsonProvider.open(t))).rejects.toMatchObject({ code: 'E_TRUNCATED' });
    const s = join(dir, 'scalar.json');
    writeFileSync(s, '42');
    const e = await drain(await jsonProvider.open(s)).catch((x) => x);
    expect(e).toBeInstanceOf(CdxError);
    expect(e.message).toMatch(/array of objects/);
  });

  it('parses big integers exactly', () => {
    expect(parseJsonExact('{"a": 9223372036854775807, "b": [1.5, "12345678901234567"]}')).toEqual({ a: 9223372036854775807n, b: [1.5, '12345678901234567'] });
    expect(parseJsonExact('{"a": 1}')).toEqual({ a: 1 });
  });
});
