import { describe, expect, it } from 'vitest';
import { addToHistory, caretLine, connectionUrl, fieldsProblem, hostOf, HISTORY_MAX_CHARS, parseConnectionUrl, parseHistory, queryLocation, quoteName, sqlSpot, tableLocation, versionText } from './dburl';
import { connectionLabel, formatDbLocation, parseDbLocation } from '../../main/engine/sql/url';

describe('database URLs in the renderer', () => {
  it("builds the engine's canonical connection text from the dialog's fields, and reads it back", () => {
    const cases = [
      { kind: 'postgresql' as const, host: 'db.example.org', port: '5433', database: 'sales', user: 'ana' },
      { kind: 'clickhouse' as const, host: '127.0.0.1', port: '', database: '', user: '' },
      { kind: 'postgresql' as const, host: 'h-1', port: '5432', database: 'my db', user: 'o@x' },
    ];
    for (const f of cases) {
      const url = connectionUrl(f);
      // the engine's own parser agrees, and writes the same text back
      const parsed = parseDbLocation(url).location;
      expect(connectionLabel(parsed)).toBe(url);
      const back = parseConnectionUrl(url)!;
      expect(back.host).toBe(f.host);
      expect(connectionUrl(back)).toBe(url);
    }
    expect(connectionUrl(cases[1]!)).toBe('clickhouse://default@127.0.0.1:8123/default');
    // an IPv6 host in brackets (the engine's parser takes its '::' for the table separator: reported)
    const v6 = connectionUrl({ kind: 'postgresql', host: '::1', port: '', database: 'd', user: 'u' });
    expect(v6).toBe('postgresql://u@[::1]:5432/d');
    expect(parseConnectionUrl(v6 + '::t')!.host).toBe('::1');
  });

  it('refuses fields that make no URL', () => {
    expect(fieldsProblem({ kind: 'postgresql', host: '', port: '', database: '', user: '' })).toMatch(/host/);
    expect(fieldsProblem({ kind: 'postgresql', host: 'h', port: '70000', database: '', user: '' })).toMatch(/port/);
    expect(fieldsProblem({ kind: 'postgresql', host: 'a/b', port: '', database: '', user: '' })).toMatch(/not a host/);
    expect(fieldsProblem({ kind: 'postgresql', host: 'h', port: '5432', database: '', user: '' })).toBeNull();
  });

  it('table and query locations parse as the engine reads them', () => {
    const url = 'postgresql://u@h:5432/d';
    expect(parseDbLocation(tableLocation(url, `public.${quoteName('a.b c')}`)).location.table).toEqual({ schema: 'public', name: 'a.b c' });
    expect(quoteName('x"y')).toBe('"x""y"');
    const q = queryLocation(url + '::old', '  \n SELECT 1::int AS "a::b"\n ');
    expect(parseDbLocation(q).location.sql).toBe('SELECT 1::int AS "a::b"');
    expect(formatDbLocation(parseDbLocation(q).location)).toBe(q);
    expect(hostOf('clickhouse://default@ch1:8123/default::t')).toBe('ch1:8123');
    expect(hostOf('/data/x.csv')).toBeNull();
  });

  it("maps an error's position in the trimmed SQL back onto the text as typed, with a caret under it", () => {
    const text = '\n  SELECT a,\n\tb FORM t';
    const sql = text.trim();
    const pos = sql.indexOf('FORM');
    const s = sqlSpot(text, pos);
    expect(text.slice(s.offset, s.offset + 4)).toBe('FORM');
    expect(s.line).toBe(2);
    expect(s.lineText).toBe('\tb FORM t');
    expect(s.col).toBe(3);
    expect(caretLine(s.lineText, s.col)).toBe('\t  ^');
    expect(sqlSpot('SELECT', 99).offset).toBe(6);
  });

  it('says the version with the kind in front once', () => {
    expect(versionText('postgresql', '15.4')).toBe('PostgreSQL 15.4');
    expect(versionText('postgresql', 'PostgreSQL 16.2 on x86_64')).toBe('PostgreSQL 16.2 on x86_64');
    expect(versionText('clickhouse', '18.16.1')).toBe('ClickHouse 18.16.1');
  });

  it('keeps the last queries per connection, newest first, within the preference size limit', () => {
    let h: Record<string, string[]> = {};
    let text = '';
    for (let i = 0; i < 15; i++) ({ history: h, text } = addToHistory(h, 'pg://a', `SELECT ${i}`));
    ({ history: h, text } = addToHistory(h, 'pg://a', 'SELECT 3'));
    expect(h['pg://a']!.slice(0, 3)).toEqual(['SELECT 3', 'SELECT 14', 'SELECT 13']);
    expect(h['pg://a']).toHaveLength(10);
    expect(parseHistory(text)).toEqual(h);
    const long = 'SELECT ' + 'x'.repeat(900);
    for (let i = 0; i < 12; i++) ({ history: h, text } = addToHistory(h, 'pg://b', long + i));
    expect(text.length).toBeLessThanOrEqual(HISTORY_MAX_CHARS);
    expect(h['pg://b']![0]).toBe(long + 11);
    ({ text } = addToHistory({}, 'pg://c', 'y'.repeat(5000)));
    expect(text.length).toBeLessThanOrEqual(HISTORY_MAX_CHARS);
    expect(parseHistory('not json')).toEqual({});
  });
});
