import { describe, expect, it } from 'vitest';
import { filesOf } from './manyfiles';

describe("the Info view's file list", () => {
  it('each file with its partition values in key order, rows and size; the totals', () => {
    const l = filesOf({
      partitionKeys: 'year,month',
      files: JSON.stringify([
        { path: 'year=2024/month=1/a.parquet', rows: 10, size: 100, partitions: { year: '2024', month: '1' } },
        { path: 'year=2024/month=__HIVE_DEFAULT_PARTITION__/b.parquet', rows: 5, size: 50, partitions: { year: '2024', month: null } },
      ]),
    })!;
    expect(l.keys).toEqual(['year', 'month']);
    expect(l.files.map((f) => [f.path, f.values, f.rows])).toEqual([
      ['year=2024/month=1/a.parquet', ['2024', '1'], 10],
      ['year=2024/month=__HIVE_DEFAULT_PARTITION__/b.parquet', ['2024', null], 5],
    ]);
    expect([l.rows, l.size]).toEqual([15, 150]);
  });

  it('an entry written before partition values were recorded: from the path; rows not counted: no total', () => {
    const l = filesOf({ partitionKeys: 'day', files: JSON.stringify([{ path: 'day=2024-01-02/x.csv', rows: null, size: 3 }, { path: 'day=a%2Fb/y.csv', rows: 2, size: 4 }]) })!;
    expect(l.files.map((f) => f.values)).toEqual([['2024-01-02'], ['a/b']]);
    expect(l.rows).toBeNull();
    expect(filesOf({ files: '[{"path":"a.csv","rows":1,"size":1}]' })!.keys).toEqual([]);
    expect(filesOf({})).toBeNull();
    expect(filesOf({ files: 'not json' })).toBeNull();
  });
});
