import { describe, expect, it } from 'vitest';
import { formatS3Url, httpBase, parseS3Url as engineParseS3 } from '../../main/engine/remote/connections';
import { formatBytes } from './format';
import { childUrl, httpBaseUrl, httpProblem, lastName, parseS3Url, remoteHost, s3Problem, s3Url, sourceFactsText, sourceKind, type S3Fields } from './remoteurl';

const fields = (f: Partial<S3Fields>): S3Fields => ({ bucket: '', prefix: '', keyId: '', endpoint: '', region: '', ...f });

describe('remote connection URLs in the panel', () => {
  it("builds the engine's own canonical texts (a saved URL and the form's compare equal)", () => {
    for (const f of [
      fields({ bucket: 'b' }),
      fields({ bucket: 'my-bucket', prefix: '/logs/2024', keyId: 'AKIA1', endpoint: 'http://127.0.0.1:9000/', region: 'eu-west-1' }),
      fields({ bucket: 'Odd_Name.1', prefix: 'a b/c%d/', endpoint: 'https://s3.example.org/base/' }),
    ]) {
      const url = s3Url(f);
      expect(formatS3Url(engineParseS3(url).parts)).toBe(url);
      expect(s3Url(parseS3Url(url)!)).toBe(url);
    }
    expect(s3Url(fields({ bucket: 'b', prefix: 'raw', keyId: 'K', endpoint: 'http://h:9000' }))).toBe('s3://K@b/raw/?endpoint=http%3A%2F%2Fh%3A9000');
    for (const u of ['https://host/data', 'http://127.0.0.1:8080', 'https://host/a%20b/c#frag']) expect(httpBaseUrl(u)).toBe(httpBase(u));
  });

  it('says what is wrong with the fields', () => {
    expect(httpProblem('')).toMatch(/Give the URL/);
    expect(httpProblem('host/data')).toMatch(/not a URL/);
    expect(httpProblem('http://u:p@h/')).toMatch(/no user or password/);
    expect(s3Problem(fields({}))).toBe('Give the bucket.');
    expect(s3Problem(fields({ bucket: 'b', endpoint: 'ftp://x' }))).toMatch(/not an http\(s\) URL/);
    expect(s3Problem(fields({ bucket: 'b', keyId: 'a b' }))).toMatch(/key id/);
    expect(s3Problem(fields({ bucket: 'b' }))).toBeNull();
  });

  it('a typed path under a folder: relative to it; an S3 folder keeps its endpoint', () => {
    expect(childUrl('https://h/data/daily/', '2024/x y.csv')).toBe('https://h/data/daily/2024/x%20y.csv');
    expect(childUrl('https://h/data/daily/', '../top.csv')).toBe('https://h/data/top.csv');
    expect(childUrl('https://h/data/', 'https://other/x.csv')).toBe('https://other/x.csv');
    expect(childUrl('s3://b/raw/?endpoint=http%3A%2F%2Fh%3A9', '2024/a b.csv')).toBe('s3://b/raw/2024/a b.csv?endpoint=http%3A%2F%2Fh%3A9');
    expect(childUrl('s3://K@b/', '/x.parquet')).toBe('s3://K@b/x.parquet');
  });

  it("the catalog list: each entry's kind (icon) and where it comes from", () => {
    const e = (path: string, extra: object = {}) => ({ path, format: 'csv', size: 2048, rows: 10, ...extra });
    expect(sourceKind(e('/home/a/x.csv'))).toBeNull();
    expect(sourceKind(e('postgresql://u@db:5432/d::t'))).toBe('database');
    expect(sourceKind(e('https://h:8080/x.csv'))).toBe('http');
    expect(sourceKind(e('s3://b/x.csv?endpoint=http%3A%2F%2Fh%3A9'))).toBe('s3');
    expect(sourceKind(e('/data/logs', { files: 12 }))).toBe('folder');
    expect(sourceKind(e('s3://b/raw/', { files: 3 }))).toBe('folder');
    expect(remoteHost('https://h:8080/x.csv')).toBe('h:8080');
    expect(remoteHost('s3://b/x.csv?endpoint=http%3A%2F%2Fh%3A9')).toBe('s3://b · h:9');
    expect(remoteHost('postgresql://u@db:5432/d::t')).toBe('db:5432');
    expect(sourceFactsText(e('https://h:8080/x.csv'), 'http')).toBe(`h:8080 · ${formatBytes(2048)} · 10 rows`);
    expect(sourceFactsText(e('s3://b/raw/', { files: 3 }), 'folder')).toBe(`s3://b · 3 files · ${formatBytes(2048)} · 10 rows`);
    expect(sourceFactsText(e('/data/logs', { files: 12, rows: null }), 'folder')).toBe(`12 files · ${formatBytes(2048)}`);
    expect(sourceFactsText(e('postgresql://u@db:5432/d::t', { format: 'postgresql' }), 'database')).toBe('db:5432 · 10 rows');
    expect(lastName('https://h/data/a%20b.csv')).toBe('a b.csv');
    expect(lastName('s3://b/raw/2024/?endpoint=x')).toBe('2024');
  });
});
