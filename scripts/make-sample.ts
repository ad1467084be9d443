/**
 * Generates the bundled sample dataset, resources/sample/trips.arrow: 60,000 synthetic taxi trips
 * with realistic mixed types (int64 ids, timestamps with a zone, dates, dictionary-encoded and
 * nullable strings, small ints with nulls, floats with NaN-free fares, nullable ratings, booleans,
 * Unicode notes), clustered pickup locations (so density plots show structure) and fares that
 * follow distance. Deterministic (seeded), uncompressed Arrow IPC file (used in place, no copy).
 * Run: npx tsx scripts/make-sample.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Bool, DateDay, Dictionary, Float32, Float64, Int8, Int64, Int32, RecordBatch, Table, TimestampMillisecond, Utf8,
  tableToIPC, vectorFromArray, makeData, Field, Schema, Struct,
} from 'apache-arrow';

const ROWS = 60_000;
const BATCH = 15_000;

let seed = 0x2545f491;
function rand(): number {
  // xorshift32
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}
function normal(): number {
  const u = Math.max(rand(), 1e-12), v = rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const boroughs = [
  { name: 'Manhattan', lat: 40.758, lon: -73.9855, sd: 0.025, w: 0.55 },
  { name: 'Brooklyn', lat: 40.6782, lon: -73.9442, sd: 0.03, w: 0.2 },
  { name: 'Queens', lat: 40.7282, lon: -73.7949, sd: 0.04, w: 0.15 },
  { name: 'Bronx', lat: 40.8448, lon: -73.8648, sd: 0.025, w: 0.07 },
  { name: 'Staten Island', lat: 40.5795, lon: -74.1502, sd: 0.03, w: 0.03 },
];
const payments = ['card', 'cash', 'app', 'voucher'];
const notes = ['', 'airport run', 'café stop ☕', 'Straße closed', 'late night 🌙', 'wheelchair accessible', 'rider said "thanks"'];

const start = Date.UTC(2025, 0, 1);
const cols = {
  trip_id: [] as bigint[], pickup_at: [] as number[], pickup_date: [] as number[], borough: [] as string[],
  passengers: [] as (number | null)[], distance_km: [] as number[], duration_min: [] as number[],
  fare: [] as number[], tip: [] as (number | null)[], payment: [] as (string | null)[],
  pickup_lat: [] as number[], pickup_lon: [] as number[], rating: [] as (number | null)[],
  shared_ride: [] as boolean[], note: [] as (string | null)[],
};
for (let i = 0; i < ROWS; i++) {
  let r = rand(), b = boroughs[0]!;
  for (const x of boroughs) { if (r < x.w) { b = x; break; } r -= x.w; }
  // busier evenings, a year of trips
  const day = Math.floor(rand() * 365);
  const hour = (17 + normal() * 4 + 24) % 24;
  const t = start + day * 86400000 + Math.floor(hour * 3600000);
  const dist = Math.max(0.3, Math.exp(1 + normal() * 0.7));
  const dur = Math.max(2, dist * (2.2 + rand() * 1.5) + normal() * 2);
  const fare = Math.round((3 + dist * 1.75 + dur * 0.35) * 100) / 100;
  const pay = rand() < 0.02 ? null : payments[rand() < 0.7 ? 0 : rand() < 0.6 ? 1 : rand() < 0.8 ? 2 : 3]!;
  cols.trip_id.push(10_000_000_000n + BigInt(i) * 7n);
  cols.pickup_at.push(t);
  cols.pickup_date.push(Math.floor(t / 86400000));
  cols.borough.push(b.name);
  cols.passengers.push(rand() < 0.03 ? null : 1 + Math.floor(Math.pow(rand(), 3) * 5));
  cols.distance_km.push(Math.round(dist * 1000) / 1000);
  cols.duration_min.push(Math.round(dur * 10) / 10);
  cols.fare.push(fare);
  cols.tip.push(pay === 'cash' || pay === null ? null : Math.round(fare * (rand() < 0.2 ? 0 : 0.1 + rand() * 0.15) * 100) / 100);
  cols.payment.push(pay);
  cols.pickup_lat.push(b.lat + normal() * b.sd);
  cols.pickup_lon.push(b.lon + normal() * b.sd * 1.3);
  cols.rating.push(rand() < 0.35 ? null : Math.round((3 + rand() * 2) * 10) / 10);
  cols.shared_ride.push(rand() < 0.12);
  const n = notes[Math.floor(rand() * notes.length)]!;
  cols.note.push(rand() < 0.85 || n === '' ? null : n);
}

const schema = new Schema([
  new Field('trip_id', new Int64(), false),
  new Field('pickup_at', new TimestampMillisecond('UTC'), false),
  new Field('pickup_date', new DateDay(), false),
  new Field('borough', new Dictionary(new Utf8(), new Int32()), false),
  new Field('passengers', new Int8(), true),
  new Field('distance_km', new Float64(), false),
  new Field('duration_min', new Float32(), false),
  new Field('fare', new Float64(), false),
  new Field('tip', new Float64(), true),
  new Field('payment', new Utf8(), true),
  new Field('pickup_lat', new Float64(), false),
  new Field('pickup_lon', new Float64(), false),
  new Field('rating', new Float32(), true),
  new Field('shared_ride', new Bool(), false),
  new Field('note', new Utf8(), true),
]);

// whole-column vectors first (one dictionary per column, shared by every batch), then batches
const vectors = schema.fields.map((f) => {
  const values = (cols as Record<string, unknown[]>)[f.name]!;
  if (f.name === 'pickup_at') return vectorFromArray(values.map((x) => new Date(x as number)), f.type);
  if (f.name === 'pickup_date') return vectorFromArray(values.map((x) => new Date((x as number) * 86400000)), f.type);
  return vectorFromArray(values as never, f.type);
});
const batches: RecordBatch[] = [];
for (let off = 0; off < ROWS; off += BATCH) {
  const end = Math.min(ROWS, off + BATCH);
  const children = vectors.map((v) => v.slice(off, end).data[0]!);
  const data = makeData({ type: new Struct(schema.fields), length: end - off, nullCount: 0, children });
  batches.push(new RecordBatch(schema, data));
}
const table = new Table(schema, batches);
const out = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'resources', 'sample', 'trips.arrow');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, tableToIPC(table, 'file'));
console.log(`wrote ${out}: ${table.numRows} rows, ${batches.length} batches`);
