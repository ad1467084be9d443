// Benchmarks of the native engine (placeholder until the kernels of issue 3 land).
import { nativeInfo } from '../native/index';
console.log(JSON.stringify({ name: 'native_info', value: nativeInfo().threads, unit: 'threads', vs: {} }));
