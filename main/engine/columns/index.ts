/** Files that can be memory-mapped as they stand, turned into native column descriptors. */
export { readArrowColumns, isSupported, type ArrowColumns, type UnsupportedColumn } from './arrow';
export { readNpyHeader, parseNpyHeader, npyColumns, type NpyHeader } from './npy';
