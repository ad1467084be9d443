/**
 * Errors raised by the expression module: CdxErrors (shared/errors.ts) with one of the expression
 * codes; a syntax error also carries the position of the offending token.
 */
import { CdxError, type CdxErrorDetail } from '../errors';

export type ExprErrorCode = 'E_SYNTAX' | 'E_UNKNOWN_COLUMN' | 'E_BAD_EXPR' | 'E_TYPE_MISMATCH';

export class ExprError extends CdxError {
  declare readonly code: ExprErrorCode;
  constructor(code: ExprErrorCode, message: string, detail: CdxErrorDetail = {}) {
    super(code, message, detail);
    this.name = 'ExprError';
  }
}

/**
 * A parse error. `position` is the 0-based character (UTF-16 code unit) offset of the offending
 * token in the text; the message ends with the offending line and a caret under that position.
 */
export class ExprSyntaxError extends ExprError {
  declare readonly code: 'E_SYNTAX';
  declare readonly position: number;
  /** the message without the caret excerpt */
  readonly reason: string;
  readonly text: string;
  constructor(reason: string, position: number, text: string) {
    super('E_SYNTAX', `${reason} (at position ${position})\n${caretExcerpt(text, position)}`, { position });
    this.name = 'ExprSyntaxError';
    this.reason = reason;
    this.text = text;
  }
}

/** The line holding `pos`, trimmed to a window around it, with a caret under `pos`. */
export function caretExcerpt(text: string, pos: number): string {
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  let lineEnd = text.indexOf('\n', pos);
  if (lineEnd < 0) lineEnd = text.length;
  let line = text.slice(lineStart, lineEnd).replace(/[\t\r]/g, ' ');
  let col = pos - lineStart;
  const WIDTH = 76;
  if (line.length > WIDTH) {
    let start = Math.max(0, col - Math.floor(WIDTH / 2));
    const end = Math.min(line.length, start + WIDTH);
    start = Math.max(0, end - WIDTH);
    const pre = start > 0 ? '…' : '';
    const post = end < line.length ? '…' : '';
    line = pre + line.slice(start, end) + post;
    col = col - start + pre.length;
  }
  return `  ${line}\n  ${' '.repeat(col)}^`;
}
