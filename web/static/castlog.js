// castlog.js: the browser's reader of a run's encrypted log (R-LOG-3), the
// format castlog/doc.go describes: "RCAST01\n", then segments (a 40-byte
// header in clear, then an age file whose plaintext is asciicast lines),
// then an index and "RCASTEND". A reader fetches the last 16 bytes with a
// Range request, then the index, then each segment it shows, so that the
// first screen needs the first segment only. Segments are decrypted here
// with age-encryption (typage) and the log key's identity, which the
// person unsealed in this page with the workspace's log passphrase: the
// identity lives in this page's memory only (R-LOG-1), and nothing here
// sends it anywhere.
import { Decrypter, armor } from './vendor/age-encryption/age-encryption/dist/index.js';

const MAGIC = 'RCAST01\n';
const HEADER = 40; // "rseg", length, firstSeq, lastSeq, start, end
const ENTRY = 40; // offset, firstSeq, lastSeq, start, end
const TRAILER = 16; // at, "RCASTEND"
const INTERRUPTED = 1; // the index's flags: the run's end was not seen

// LogError is a log that cannot be read as it is: damaged (kind
// 'damaged'), opened by none of the identities ('identity'), or a wrong
// passphrase ('passphrase'). segment is the damaged segment's number
// (from 0) when one is to blame.
export class LogError extends Error {
  constructor(kind, message, segment) {
    super(message);
    this.kind = kind;
    this.segment = segment;
  }
}

const damaged = (message, segment) => new LogError('damaged', message, segment);
const ascii = (b) => String.fromCharCode(...b);

// ---- Sources: where a log's bytes come from. ----

// bytesSource reads a log held in memory (a downloaded file, tests).
export function bytesSource(bytes) {
  return {
    size: async () => bytes.length,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

// httpSource reads a log over HTTP with Range requests: first its last
// bytes (which also say its size), then what scan and readSegment ask for.
// A server that ignores Range (200 with the whole body) is read from
// memory from then on. fetchFn defaults to the page's fetch, with the
// session cookie. The ETag (the quoted sha256) must stay the same from one
// request to the next: a log replaced meanwhile is not mixed with the old.
export function httpSource(url, { fetchFn = (u, init) => fetch(u, { credentials: 'same-origin', ...init }) } = {}) {
  let size = null, whole = null, etag = null;
  const chunks = []; // {offset, bytes} already fetched (the tail, the index)
  const get = async (range) => {
    const resp = await fetchFn(url, { headers: { Range: range } });
    if (resp.status === 404) throw new LogError('missing', 'The server has no copy of this log (yet).');
    if (resp.status !== 206 && resp.status !== 200) {
      throw new LogError('http', `The server answered ${resp.status} ${resp.statusText} when asked for the log.`);
    }
    const tag = resp.headers.get('ETag');
    if (etag && tag && tag !== etag) throw new LogError('changed', 'The log changed on the server while it was read: open it again.');
    etag = etag || tag;
    const body = new Uint8Array(await resp.arrayBuffer());
    if (resp.status === 200) {
      whole = body;
      size = body.length;
      return null;
    }
    const m = /^bytes (\d+)-\d+\/(\d+)\s*$/.exec(resp.headers.get('Content-Range') || '');
    if (!m) throw new LogError('http', 'The server answered a range of the log without saying which (no Content-Range).');
    size = Number(m[2]);
    chunks.push({ offset: Number(m[1]), bytes: body });
    if (chunks.length > 4) chunks.shift();
    return body;
  };
  const cached = (offset, length) => {
    for (const c of chunks) {
      if (offset >= c.offset && offset + length <= c.offset + c.bytes.length) return c.bytes.subarray(offset - c.offset, offset - c.offset + length);
    }
    return null;
  };
  const fromWhole = (offset, length) => whole.subarray(offset, Math.min(whole.length, offset + length));
  return {
    size: async () => {
      if (size === null) await get('bytes=-' + TRAILER);
      return size;
    },
    read: async (offset, length) => {
      if (whole) return fromWhole(offset, length);
      if (length <= 0) return new Uint8Array(0);
      const c = cached(offset, length);
      if (c) return c;
      const b = await get(`bytes=${offset}-${offset + length - 1}`);
      return b === null ? fromWhole(offset, length) : b;
    },
    etag: () => etag,
  };
}

// ---- The layout: segments from the index, or from the headers. ----

const u64 = (v, at) => v.getBigUint64(at, false);
const i64ms = (v, at) => Number(v.getBigInt64(at, false) / 1000000n); // Unix ns → ms

function segmentOf(v, at, offset, length) {
  return {
    offset, length,
    firstSeq: Number(u64(v, at)), lastSeq: Number(u64(v, at + 8)),
    start: i64ms(v, at + 16), end: i64ms(v, at + 24),
  };
}

// scan reads the layout of the log in source: {segments, complete,
// interrupted, torn, size}, each segment {offset, length, firstSeq,
// lastSeq, start, end} (times in Unix ms). Like castlog.Scan: the index
// when the log has one, else a walk of the segments' headers that leaves
// a torn tail out.
export async function scan(source) {
  const size = await source.size();
  if (size < MAGIC.length) throw damaged(`The log is ${size} bytes long: too short to be a log (it is cut short or is not a log).`);
  const head = await source.read(0, MAGIC.length);
  if (ascii(head) !== MAGIC) throw damaged('This file is not a Runlet log (it does not start with "RCAST01").');
  if (size >= MAGIC.length + 4 + 8 + TRAILER) {
    const tail = await source.read(size - TRAILER, TRAILER);
    if (ascii(tail.subarray(8)) === 'RCASTEND') return readIndex(source, size, tail);
  }
  return walk(source, size);
}

async function readIndex(source, size, tail) {
  const at = Number(new DataView(tail.buffer, tail.byteOffset, 8).getBigUint64(0, false));
  if (at < MAGIC.length || at > size - TRAILER - 12) throw damaged(`The log's index is damaged (it says it starts at byte ${at} of ${size}).`);
  const b = await source.read(at, size - TRAILER - at);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (ascii(b.subarray(0, 4)) !== 'ridx') throw damaged(`The log's index is damaged (no "ridx" at byte ${at}).`);
  const count = v.getUint32(4, false), flags = v.getUint32(8, false);
  if (12 + count * ENTRY !== b.length) throw damaged(`The log's index is damaged (${count} segments do not fit its ${b.length} bytes).`);
  const segments = [];
  for (let i = 0; i < count; i++) {
    const e = 12 + i * ENTRY;
    const offset = Number(u64(v, e));
    const next = i + 1 < count ? Number(u64(v, e + ENTRY)) : at;
    if (offset < MAGIC.length || next <= offset + HEADER || next > at) throw damaged(`The log's index is damaged (segment ${i + 1} at byte ${offset}).`, i);
    segments.push(segmentOf(v, e + 8, offset, next - offset));
  }
  return { segments, complete: true, interrupted: (flags & INTERRUPTED) !== 0, torn: false, size };
}

async function walk(source, size) {
  const segments = [];
  let off = MAGIC.length, torn = false;
  while (off < size) {
    if (size - off < HEADER) { torn = true; break; }
    const b = await source.read(off, HEADER);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (ascii(b.subarray(0, 4)) !== 'rseg') {
      if (ascii(b.subarray(0, 4)) === 'ridx') throw damaged(`The log's index is damaged (its end marker is missing at byte ${size - 8}).`);
      throw damaged(`The log is damaged at byte ${off}: no segment starts there.`, segments.length);
    }
    const length = v.getUint32(4, false);
    if (off + HEADER + length > size) { torn = true; break; }
    segments.push(segmentOf(v, 8, off, HEADER + length));
    off += HEADER + length;
  }
  return { segments, complete: false, interrupted: false, torn, size };
}

// ---- Keys. ----

// unseal opens each sealed log key (runlet.LogKey.sealed: age, scrypt,
// armored) with passphrase and returns their identities
// ("AGE-SECRET-KEY-1…"), by generation. It throws LogError 'passphrase'
// when the passphrase opens none of them. scrypt runs here, in the page:
// a second or more per generation.
export async function unseal(keys, passphrase) {
  const out = new Map();
  let wrong = 0;
  for (const k of keys) {
    const d = new Decrypter();
    d.addPassphrase(passphrase);
    let text;
    try {
      text = await d.decrypt(armor.decode(k.sealed), 'text');
    } catch (err) {
      if (/no identity matched/.test(err.message)) { wrong++; continue; }
      throw new LogError('damaged', `Log key generation ${k.generation} cannot be opened: ${err.message}.`);
    }
    const id = text.trim().split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'));
    if (!id) throw new LogError('damaged', `Log key generation ${k.generation} does not hold an age identity.`);
    out.set(k.generation, id);
  }
  if (!out.size && wrong) throw new LogError('passphrase', 'Wrong passphrase: it opens none of the workspace\'s log keys.');
  return out;
}

// ---- Segments. ----

// readSegment decrypts segment i of layout with identities (strings) and
// parses its text: {header (the first segment's asciicast header, else
// null), events: [{seq, time (s since the header's timestamp), data}]},
// checked against the segment's header as castlog.ReadSegment does.
export async function readSegment(source, layout, i, identities) {
  const s = layout.segments[i];
  const name = `Segment ${i + 1} of ${layout.segments.length}` + (s.firstSeq ? ` (frames ${s.firstSeq}–${s.lastSeq})` : '');
  const b = await source.read(s.offset, s.length);
  if (b.length !== s.length || ascii(b.subarray(0, 4)) !== 'rseg') throw damaged(`${name} is damaged: its header is missing.`, i);
  const length = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(4, false);
  if (HEADER + length !== s.length) throw damaged(`${name} is damaged: its header says ${length} bytes, the index ${s.length - HEADER}.`, i);
  const d = new Decrypter();
  for (const id of identities) d.addIdentity(id);
  let text;
  try {
    text = await d.decrypt(b.subarray(HEADER), 'text');
  } catch (err) {
    if (/no identity matched/.test(err.message)) {
      throw new LogError('identity', `${name} is encrypted to a log key this passphrase does not open (another generation?).`, i);
    }
    throw damaged(`${name} is damaged: it does not decrypt (its age header or ciphertext was altered or cut).`, i);
  }
  return parseSegment(text, s, i, name);
}

function parseSegment(text, s, i, name) {
  if (!text.endsWith('\n')) throw damaged(`${name} is damaged: its text does not end with a line.`, i);
  const lines = text.slice(0, -1).split('\n');
  let header = null;
  const events = [];
  for (const [n, line] of lines.entries()) {
    let v;
    try {
      v = JSON.parse(line);
    } catch {
      throw damaged(`${name} is damaged: line ${n + 1} is not JSON.`, i);
    }
    if (n === 0 && i === 0) {
      if (!v || typeof v !== 'object' || Array.isArray(v) || v.version !== 2) throw damaged(`${name} is damaged: it does not start with an asciicast v2 header.`, i);
      header = v;
      continue;
    }
    if (!Array.isArray(v) || v.length !== 4 || typeof v[0] !== 'number' || v[1] !== 'o' || typeof v[2] !== 'string' || !Number.isSafeInteger(v[3])) {
      throw damaged(`${name} is damaged: line ${n + 1} is not an output event.`, i);
    }
    const seq = v[3];
    const want = events.length ? events[events.length - 1].seq + 1 : s.firstSeq;
    if (seq !== want) throw damaged(`${name} is damaged: frame ${seq} where frame ${want} should be.`, i);
    events.push({ seq, time: v[0], data: v[2] });
  }
  const last = events.length ? events[events.length - 1].seq : 0;
  if ((events.length ? events[0].seq : 0) !== s.firstSeq || last !== s.lastSeq) {
    throw damaged(`${name} is damaged: it holds frames ${events.length ? events[0].seq + '–' + last : 'none'}, its header says ${s.firstSeq}–${s.lastSeq}.`, i);
  }
  return { header, events };
}

// ---- A whole log. ----

// CastLog is one log being read: open scans its layout; segment(i)
// decrypts one (cached); each() walks them in order, reporting a damaged
// segment to onDamaged and going on with the next.
export class CastLog {
  constructor(source, layout, identities) {
    this.source = source;
    this.layout = layout;
    this.identities = identities;
    this.cache = new Map();
  }

  static async open(source, identities) {
    return new CastLog(source, await scan(source), [...identities]);
  }

  get segments() { return this.layout.segments; }

  async segment(i) {
    if (!this.cache.has(i)) this.cache.set(i, readSegment(this.source, this.layout, i, this.identities));
    return this.cache.get(i);
  }

  // each calls fn(i, {header, events}) for each segment in order, and
  // onDamaged(i, LogError) for one that cannot be read. An error that is
  // not the segment's own (the network, a wrong key) stops the walk.
  async each(fn, onDamaged) {
    for (let i = 0; i < this.segments.length; i++) {
      let seg;
      try {
        seg = this.cache.has(i) ? await this.cache.get(i) : await readSegment(this.source, this.layout, i, this.identities); // a walk keeps nothing
      } catch (err) {
        if (!(err instanceof LogError) || err.kind !== 'damaged') throw err;
        onDamaged(i, err);
        continue;
      }
      await fn(i, seg);
    }
  }
}

// asciicast is the standard asciicast v2 text of header and events (three
// elements each, as asciinema's tools want: castlog.Export does the same).
export function asciicast(header, events) {
  const out = [JSON.stringify(header)];
  for (const e of events) out.push(JSON.stringify([e.time, 'o', e.data]));
  return out.join('\n') + '\n';
}
