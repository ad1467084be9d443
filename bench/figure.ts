/** One benchmark figure, as `npm run bench -- --json` prints it: a ratio > 1 in `vs` means we are better. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  vs: Record<string, number>;
  note?: string;
}
