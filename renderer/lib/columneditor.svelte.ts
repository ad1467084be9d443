/**
 * Which computed-column editor is open: none, a new column's, or an existing column's (by name).
 * One for the window, since one dataset is shown at a time: the Summary's + Column and ƒ buttons,
 * the Table's header + and the View › Add Column… command (Ctrl+Shift+E) all open it here, and the
 * dataset pane (DatasetPane.svelte) shows it over whichever view is on.
 */
import type { DatasetView } from './dataset.svelte';

export const columnEditor = $state<{ open: boolean; column: string | null }>({ open: false, column: null });

/** opens the editor: for a new column (null) or to edit (rename, remove) the computed column named */
export function editColumn(column: string | null = null): void {
  columnEditor.column = column;
  columnEditor.open = true;
}

export function closeColumnEditor(): void {
  columnEditor.open = false;
  columnEditor.column = null;
}

/** a dataset whose columns may be computed: any opened one (a database table's are computed by the database) */
export const canCompute = (view: DatasetView): boolean => !!view.overview;
