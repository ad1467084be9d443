/**
 * The key pairs of a join as users write them (the CLI's `--on`, the app's join form): `k`,
 * `k1,k2`, `left_key=right_key`, or several of those; parsed once here for every client.
 */
import { CdxError } from './errors';

/** `k`, `k,k2`, `lk=rk,a=b` (or an array of those) → [left column, right column] pairs. */
export function parseJoinOn(spec: string | readonly string[]): [string, string][] {
  const parts = (typeof spec === 'string' ? spec.split(',') : spec.flatMap((s) => s.split(','))).map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw new CdxError('E_BAD_ARG', 'join: name the key columns (--on k, --on k1,k2 or --on left_key=right_key)');
  return parts.map((p) => {
    const i = p.indexOf('=');
    if (i < 0) return [p, p];
    const l = p.slice(0, i).trim(), r = p.slice(i + 1).trim();
    if (!l || !r) throw new CdxError('E_BAD_ARG', `join: "${p}" is not a key pair (left_key=right_key)`);
    return [l, r];
  });
}
