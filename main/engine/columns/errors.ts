/** Errors of the column readers: a stable `code` and a message that names the file. */
export class ColumnsError extends Error {
  constructor(
    public code: string,
    public path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ColumnsError';
  }
}
