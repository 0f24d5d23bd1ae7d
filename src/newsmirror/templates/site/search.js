// Site search: Pagefind bundles built by `newsmirror build`, read in the browser.
// The only script of the site. Results are built as DOM nodes (no innerHTML).
const form = document.getElementById("search");
const status = document.getElementById("search-status");
const list = document.getElementById("search-results");
const bundles = JSON.parse(form.dataset.bundles);
const siteUrl = new URL(form.dataset.site, document.baseURI);
const input = form.elements.q;
let pagefind = null;

async function load() {
  if (pagefind) return pagefind;
  if (!bundles.length) return null;
  // Each bundle indexes one folder of article pages: its URLs are relative to `base`.
  const where = (b) => ({
    bundle: new URL(b.path, siteUrl),
    baseUrl: new URL(b.base, siteUrl).pathname,
  });
  const [first, ...rest] = bundles.map(where);
  pagefind = await import(new URL("pagefind.js", first.bundle).href);
  await pagefind.options({ baseUrl: first.baseUrl, excerptLength: 40 });
  for (const b of rest) {
    await pagefind.mergeIndex(b.bundle.pathname, { baseUrl: b.baseUrl });
  }
  return pagefind;
}

function excerpt(html) {
  const p = document.createElement("p");
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const node of doc.body.childNodes) {
    if (node.nodeName === "MARK") {
      const m = document.createElement("mark");
      m.textContent = node.textContent;
      p.append(m);
    } else {
      p.append(document.createTextNode(node.textContent));
    }
  }
  return p;
}

async function run(q) {
  list.replaceChildren();
  if (!q.trim()) { status.textContent = ""; return; }
  status.textContent = "…";
  const pf = await load();
  if (!pf) { status.textContent = "0"; return; }
  const found = await pf.search(q);
  const top = await Promise.all(found.results.slice(0, 30).map((r) => r.data()));
  status.textContent = `${found.results.length}`;
  for (const d of top) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = d.url;
    a.textContent = (d.meta && d.meta.title) || d.url;
    li.append(a);
    if (d.meta && d.meta.source) {
      const s = document.createElement("span");
      s.className = "meta";
      s.textContent = ` ${d.meta.source} ${d.meta.date || ""}`;
      li.append(s);
    }
    li.append(excerpt(d.excerpt || ""));
    list.append(li);
  }
}

const q = new URLSearchParams(location.search).get("q") || "";
input.value = q;
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const v = input.value;
  history.replaceState(null, "", `?q=${encodeURIComponent(v)}`);
  run(v).catch((err) => { status.textContent = String(err); });
});
if (q) run(q).catch((err) => { status.textContent = String(err); });
