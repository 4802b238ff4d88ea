// Reads /sitemap.xml and turns each <loc> into a path on the test server.

const XML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decode XML's five named entities and numeric character references (&#x2f; &#47;). */
function decodeXml(text) {
  return text.replace(/&(?:#x([0-9a-f]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/gi, (whole, hex, dec, name) => {
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    if (dec) return String.fromCodePoint(parseInt(dec, 10));
    return XML_ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/**
 * The paths (with query, if any) of every <loc> in the server's sitemap, in order, without
 * duplicates. The sitemap uses the configured public URL; only the path is kept, so a
 * different origin there still works. `origins` lists the origins seen, for diagnostics.
 */
export async function sitemapPaths(serverUrl) {
  const response = await fetch(new URL('/sitemap.xml', serverUrl), { redirect: 'manual' });
  const body = await response.text();
  if (response.status !== 200) {
    throw new Error(`GET /sitemap.xml answered ${response.status}, expected 200:\n${body.slice(0, 500)}`);
  }
  const locs = [...body.matchAll(/<loc>\s*([^<]*?)\s*<\/loc>/g)].map((match) => decodeXml(match[1]));
  if (locs.length === 0) {
    throw new Error(`/sitemap.xml lists no <loc> at all:\n${body.slice(0, 500)}`);
  }
  const paths = [];
  const origins = new Set();
  for (const loc of locs) {
    let url;
    try {
      url = new URL(loc);
    } catch {
      throw new Error(`/sitemap.xml has a <loc> that is not an absolute URL: ${JSON.stringify(loc)}`);
    }
    origins.add(url.origin);
    const path = url.pathname + url.search;
    if (!paths.includes(path)) paths.push(path);
  }
  return { paths, origins: [...origins], count: locs.length };
}
