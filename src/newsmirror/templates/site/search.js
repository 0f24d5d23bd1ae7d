// Site search: reads the static index `newsmirror build` writes under search/
// (see newsmirror/search_index.py for the format). The only script of the site;
// results are built as DOM nodes (no innerHTML). Nothing but the site's own files.
const form = document.getElementById("search");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const more = document.getElementById("search-more");
const segments = JSON.parse(form.dataset.index); // newest first
const input = form.elements.q;
const PAGE = 30;
const META_CHUNK = 256;
const HALF = 2 ** 21;
const WORD_BASE = 2 ** 40;
const CJK = [[0x3040, 0x30ff], [0x3400, 0x9fff], [0xac00, 0xd7af], [0xf900, 0xfaff],
  [0x20000, 0x3ffff]];
const WORD = /[0-9a-z\u00b5\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]+/g;
const cache = new Map();

const isCJK = (cp) => CJK.some(([lo, hi]) => cp >= lo && cp <= hi);

function normalise(s) {
  s = s.toLowerCase();
  if (!/[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]/.test(s)) return s;
  return s.replace(/[\uff10-\uff5a]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .toLowerCase();
}

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(text) {
  let c = 0xffffffff;
  for (const b of new TextEncoder().encode(text)) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// The token ranges [low, high] an article must all hold (search_index.query_tokens).
function tokens(query) {
  const text = normalise(query);
  const out = [];
  let run = [];
  const flush = () => {
    if (run.length === 1) out.push([run[0] * HALF, run[0] * HALF + HALF - 1]);
    for (let i = 1; i < run.length; i++) {
      const t = run[i - 1] * HALF + run[i];
      out.push([t, t]);
    }
    run = [];
  };
  for (const ch of text) {
    const cp = ch.codePointAt(0);
    if (isCJK(cp)) run.push(cp);
    else flush();
  }
  flush();
  for (const w of new Set(text.match(WORD) || [])) {
    const t = WORD_BASE + crc32(w);
    out.push([t, t]);
  }
  return out;
}

function load(url, kind) {
  if (!cache.has(url)) {
    cache.set(url, fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${r.status} ${url}`);
      return kind === "json" ? r.json() : r.arrayBuffer();
    }));
  }
  return cache.get(url);
}

// The documents of one shard whose tokens lie in [lo, hi].
function postings(buf, lo, hi, into) {
  const v = new DataView(buf);
  const n = v.getUint32(4, true);
  const tok = (i) => v.getFloat64(8 + 8 * i, true);
  const end = (i) => v.getUint32(8 + 8 * n + 4 * i, true);
  const data = new Uint8Array(buf, 8 + 12 * n);
  let a = 0;
  let b = n;
  while (a < b) { // first token >= lo
    const m = (a + b) >> 1;
    if (tok(m) < lo) a = m + 1; else b = m;
  }
  for (let i = a; i < n && tok(i) <= hi; i++) {
    let doc = -1;
    let val = 0;
    let shift = 0;
    for (let p = i ? end(i - 1) : 0; p < end(i); p++) {
      const byte = data[p];
      val += (byte & 127) * 2 ** shift;
      shift += 7;
      if (byte < 128) {
        doc += val;
        into.add(doc);
        val = 0;
        shift = 0;
      }
    }
  }
}

// The documents of a segment holding every token range, newest first.
async function searchSegment(seg, ranges) {
  const base = new URL(seg.p, location.href);
  let found = null;
  for (const [lo, hi] of ranges) {
    let first = 0;
    while (first + 1 < seg.s.length && seg.s[first + 1] <= lo) first++;
    let last = first;
    while (last + 1 < seg.s.length && seg.s[last + 1] <= hi) last++;
    const docs = new Set();
    for (let k = first; k <= last; k++) {
      postings(await load(new URL(`i${k}.bin`, base).href, "bin"), lo, hi, docs);
    }
    found = found === null ? docs : new Set([...found].filter((d) => docs.has(d)));
    if (!found.size) break;
  }
  return [...(found || [])].sort((x, y) => y - x).map((doc) => [base, doc]);
}

async function row(base, doc) {
  const chunk = await load(new URL(`d${Math.floor(doc / META_CHUNK)}.json`, base).href, "json");
  return chunk[doc % META_CHUNK];
}

function lead(text, words) {
  const p = document.createElement("p");
  const low = normalise(text);
  let at = -1;
  let len = 0;
  for (const w of words) {
    const i = low.indexOf(w);
    if (i >= 0 && (at < 0 || i < at)) { at = i; len = w.length; }
  }
  if (at < 0 || low.length !== text.length) {
    p.append(text);
    return p;
  }
  const m = document.createElement("mark");
  m.textContent = text.slice(at, at + len);
  p.append(text.slice(0, at), m, text.slice(at + len));
  return p;
}

let hits = [];
let shown = 0;
let words = [];

async function show() {
  const page = hits.slice(shown, shown + PAGE);
  shown += page.length;
  const rows = await Promise.all(page.map(([base, doc]) => row(base, doc)));
  for (const [href, title, source, day, text] of rows) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = new URL(href, location.href).href;
    a.textContent = title || href;
    const s = document.createElement("span");
    s.className = "meta";
    s.textContent = ` ${source} ${day}`;
    li.append(a, s, lead(text || "", words));
    list.append(li);
  }
  more.hidden = shown >= hits.length;
}

async function run(q) {
  list.replaceChildren();
  more.hidden = true;
  hits = [];
  shown = 0;
  const ranges = tokens(q);
  if (!ranges.length) { status.textContent = ""; return; }
  status.textContent = "…";
  words = normalise(q).split(/\s+/).filter(Boolean);
  const per = await Promise.all(segments.map((seg) => searchSegment(seg, ranges)));
  hits = per.flat();
  status.textContent = form.dataset.found.replace("{n}", String(hits.length));
  await show();
}

const fail = (err) => { status.textContent = String(err); };
const q = new URLSearchParams(location.search).get("q") || "";
input.value = q;
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const v = input.value;
  history.replaceState(null, "", `?q=${encodeURIComponent(v)}`);
  run(v).catch(fail);
});
more.addEventListener("click", () => show().catch(fail));
if (q) run(q).catch(fail);
