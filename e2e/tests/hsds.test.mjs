// Open Referral HSDS 3.1 from `anteroom demo --hosted` (issue 13), checked with a JSON Schema
// validator: ajv (draft 2020-12, strict mode, with ajv-formats) against our own
// schemas/hsds.schema.json, which states the HSDS 3.1 objects' required fields, types,
// formats and fixed values (the specification's own files are not copied in). HTTP only.
//
// - The directory at find.localhost: its /hsds/ root, every page of each paged list
//   (services, organizations, service_at_locations, taxonomies, taxonomy_terms), and objects
//   read by id, each as the schema says and matching the lists; the lists point at each
//   other correctly; every answer is JSON with `Access-Control-Allow-Origin: *` and no cookie.
// - One hosted practice's own /hsds/: the same services for itself as the directory lists.
// - The validator is live: a real service with a status outside the list, or an id that is
//   not a UUID, fails.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { assertNoProblems } from '../support/problems.mjs';
import { getWithHost, startServer } from '../support/server.mjs';

const FIND = 'find.localhost';
/** The paged lists, each with the definition an object read from it by id must meet. */
const LISTS = {
  services: 'anteroom_service',
  organizations: 'organization',
  service_at_locations: 'anteroom_service_at_location',
  taxonomies: 'taxonomy',
  taxonomy_terms: 'taxonomy_term',
};
/** Small enough that most lists take several pages, so paging itself is checked. */
const PER_PAGE = 25;
/** The most pages a list is followed through, in case `last_page` never comes. */
const MAX_PAGES = 200;
const READ_TIMEOUT_MS = 15_000;
/** How long the directory may take to list its practices after the server is ready. */
const LISTED_DEADLINE_MS = 30_000;

const SCHEMA = JSON.parse(readFileSync(new URL('../schemas/hsds.schema.json', import.meta.url), 'utf8'));

/** Every definition of the schema, compiled by ajv in strict mode (any looseness throws). */
function compileSchema() {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(SCHEMA);
  return Object.fromEntries(
    Object.keys(SCHEMA.$defs).map((name) => [name, ajv.getSchema(`${SCHEMA.$id}#/$defs/${name}`)]),
  );
}
const VALIDATE = compileSchema();

let server;
/** What the directory's lists hold, read in full by the first list test. */
const listed = {};
const done = new Set();

before(async () => {
  server = await startServer({ name: 'hsds', extraArgs: ['--hosted'], readyHost: FIND });
  // The directory lists its practices at its first refresh, which may end just after the
  // server answers: wait for it rather than read an empty directory.
  const deadline = Date.now() + LISTED_DEADLINE_MS;
  for (;;) {
    const { json } = await read(FIND, '/hsds/organizations?per_page=1');
    if (json?.total_items > 0) break;
    if (Date.now() > deadline) throw new Error(`find.localhost listed no organization within ${LISTED_DEADLINE_MS / 1000} s`);
    await sleep(200);
  }
});

after(async () => {
  await server?.stop();
});

function needs(t, step) {
  if (done.has(step)) return false;
  t.skip(`needs "${step}", which did not pass`);
  return true;
}

/** `host` with the server's port, unless it has one. */
function withPort(host) {
  return host.includes(':') ? host : `${host}:${server.port}`;
}

/** GET `path` from `host`: status, headers and the body as JSON (null when it is not). */
async function read(host, path) {
  const response = await getWithHost(server.port, withPort(host), path, { timeout: READ_TIMEOUT_MS });
  let json = null;
  try {
    json = JSON.parse(response.body);
  } catch {
    /* reported by answerProblems */
  }
  return { ...response, json, where: `GET http://${withPort(host)}${path}` };
}

/** What is wrong with an answer as an open-data response: status, JSON, CORS, cookies. */
function answerProblems(answer, expectedStatus = 200) {
  const problems = [];
  const { where, headers } = answer;
  if (answer.status !== expectedStatus) problems.push(`${where}: status ${answer.status}, expected ${expectedStatus}`);
  if (!/^application\/json\b/.test(headers['content-type'] ?? '')) {
    problems.push(`${where}: Content-Type ${headers['content-type']}, expected application/json`);
  }
  if (answer.json === null) problems.push(`${where}: the body is not JSON: ${answer.body.slice(0, 200)}`);
  if (headers['access-control-allow-origin'] !== '*') {
    problems.push(`${where}: Access-Control-Allow-Origin is ${headers['access-control-allow-origin'] ?? 'missing'}, expected *`);
  }
  for (const cookie of headers['set-cookie'] ?? []) problems.push(`${where}: sets a cookie: ${cookie}`);
  return problems;
}

/** The value at a JSON Pointer (ajv's instancePath) in `data`. */
function valueAt(data, pointer) {
  return pointer
    .split('/')
    .slice(1)
    .reduce((value, key) => value?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], data);
}

/**
 * What `data` breaks of the schema's definition `definition`, one line per error, naming
 * the object's id (for a page, the id of the item in `contents` the error is in).
 */
function schemaProblems(definition, data, where) {
  const validate = VALIDATE[definition];
  assert.ok(validate, `the schema defines ${definition}`);
  if (validate(data)) return [];
  const lines = new Set(); // a field both layers of the schema check fails twice
  for (const error of validate.errors) {
    const inPage = /^\/contents\/(\d+)(.*)$/.exec(error.instancePath);
    const object = inPage ? data.contents[Number(inPage[1])] : data;
    const id = typeof object?.id === 'string' ? `id ${object.id}` : 'no id';
    const whose = inPage ? `${where} contents[${inPage[1]}] (${id})` : `${where} (${id})`;
    let detail = `${(inPage ? inPage[2] : error.instancePath) || '/'} ${error.message}`;
    if (error.keyword === 'enum') detail += ` ${JSON.stringify(error.params.allowedValues)}`;
    const value = valueAt(data, error.instancePath);
    if (value !== null && typeof value !== 'object' && value !== undefined) detail += `, got ${JSON.stringify(value)}`;
    lines.add(`${whose}: ${detail}`);
  }
  return [...lines];
}

/**
 * Every page of `/hsds/{list}` on `host` (with `query`), each checked as an answer, against
 * the schema, and for paging that adds up; the items of all pages.
 */
async function readList(host, list, problems, query = '') {
  const items = [];
  let totalItems;
  let totalPages;
  for (let number = 1; number <= MAX_PAGES; number += 1) {
    const answer = await read(host, `/hsds/${list}?per_page=${PER_PAGE}&page=${number}${query}`);
    const { where, json: page } = answer;
    problems.push(...answerProblems(answer));
    if (answer.status !== 200 || page === null) break;
    problems.push(...schemaProblems(`${list}_page`, page, where));
    const contents = Array.isArray(page.contents) ? page.contents : [];
    items.push(...contents);
    totalItems ??= page.total_items;
    totalPages ??= page.total_pages;
    const expected = {
      page_number: number,
      size: contents.length,
      empty: contents.length === 0,
      first_page: number === 1,
      last_page: number >= totalPages,
      total_items: totalItems,
      total_pages: totalPages,
    };
    for (const [field, value] of Object.entries(expected)) {
      if (page[field] !== value) problems.push(`${where}: ${field} is ${JSON.stringify(page[field])}, expected ${JSON.stringify(value)}`);
    }
    if (contents.length > PER_PAGE) problems.push(`${where}: ${contents.length} items, more than per_page=${PER_PAGE}`);
    if (page.last_page !== false) break;
  }
  if (items.length !== totalItems) problems.push(`${host} /hsds/${list}: ${items.length} items on its pages, total_items says ${totalItems}`);
  if (totalPages !== Math.max(1, Math.ceil(items.length / PER_PAGE))) {
    problems.push(`${host} /hsds/${list}: total_pages ${totalPages} for ${items.length} items at ${PER_PAGE} a page`);
  }
  const ids = items.map((item) => item?.id);
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length > 0) problems.push(`${host} /hsds/${list}: ids on more than one item: ${[...new Set(repeated)].join(', ')}`);
  return items;
}

test('the directory\'s /hsds/ root gives the version, the profile and its OpenAPI document', async () => {
  const root = await read(FIND, '/hsds/');
  const problems = [...answerProblems(root)];
  problems.push(...schemaProblems('api_root', root.json, root.where));
  assertNoProblems(problems, 'the directory\'s /hsds/');
  const openapi = new URL(root.json.openapi_url);
  assert.equal(openapi.host, withPort(FIND), 'the OpenAPI document is the directory\'s own');
  const doc = await read(FIND, openapi.pathname);
  assertNoProblems(answerProblems(doc), 'the directory\'s OpenAPI document');
  assert.equal(doc.json.openapi, '3.1.0');
  for (const list of Object.keys(LISTS)) {
    assert.ok(doc.json.paths?.[`/${list}`] && doc.json.paths?.[`/${list}/{id}`], `the OpenAPI document describes /${list} and /${list}/{id}`);
  }
});

test('every page of every list on find.localhost is HSDS 3.1 by the schema', async () => {
  const problems = [];
  for (const list of Object.keys(LISTS)) {
    listed[list] = await readList(FIND, list, problems);
    if (listed[list].length === 0) problems.push(`/hsds/${list} is empty`);
  }
  assertNoProblems(problems, 'the directory\'s HSDS lists');
  done.add('lists');
});

test('the directory\'s lists point at each other', async (t) => {
  if (needs(t, 'lists')) return;
  const problems = [];
  const ids = (list) => new Set(listed[list].map((item) => item.id));
  const organizations = ids('organizations');
  const services = ids('services');
  const terms = ids('taxonomy_terms');
  const taxonomies = ids('taxonomies');
  const linked = new Set();
  for (const service of listed.services) {
    const what = `service ${service.id}`;
    if (!organizations.has(service.organization_id)) problems.push(`${what}: organization_id ${service.organization_id} is not in /hsds/organizations`);
    if (service.organization?.id !== service.organization_id) problems.push(`${what}: its organization is not its organization_id`);
    for (const sal of service.service_at_locations) {
      linked.add(sal.id);
      if (sal.service_id !== service.id) problems.push(`${what}: service_at_location ${sal.id} names service ${sal.service_id}`);
      if (sal.location_id !== sal.location.id) problems.push(`${what}: service_at_location ${sal.id}: location_id is not its location's id`);
      if (sal.location.organization_id !== undefined && sal.location.organization_id !== service.organization_id) {
        problems.push(`${what}: location ${sal.location.id} belongs to another organization`);
      }
    }
    for (const [kind, links] of [['cost_option', service.cost_options], ['language', service.languages], ['capacity', service.capacities ?? []]]) {
      for (const link of links) {
        if (link.service_id !== undefined && link.service_id !== service.id) problems.push(`${what}: ${kind} ${link.id} names service ${link.service_id}`);
      }
    }
    for (const attribute of service.attributes) {
      if (attribute.link_id !== service.id) problems.push(`${what}: attribute ${attribute.id} links to ${attribute.link_id}`);
      if (!terms.has(attribute.taxonomy_term_id)) problems.push(`${what}: attribute ${attribute.id}: term ${attribute.taxonomy_term_id} is not in /hsds/taxonomy_terms`);
      if (attribute.taxonomy_term.id !== attribute.taxonomy_term_id) problems.push(`${what}: attribute ${attribute.id}: taxonomy_term is not taxonomy_term_id`);
    }
  }
  for (const sal of listed.service_at_locations) {
    if (!services.has(sal.service_id)) problems.push(`service_at_location ${sal.id}: service ${sal.service_id} is not in /hsds/services`);
    if (!linked.has(sal.id)) problems.push(`service_at_location ${sal.id} is in no service's service_at_locations`);
  }
  if (linked.size !== listed.service_at_locations.length) {
    problems.push(`${linked.size} service_at_locations in services, ${listed.service_at_locations.length} in /hsds/service_at_locations`);
  }
  for (const term of listed.taxonomy_terms) {
    if (!taxonomies.has(term.taxonomy_id)) problems.push(`taxonomy_term ${term.id}: taxonomy ${term.taxonomy_id} is not in /hsds/taxonomies`);
  }
  assertNoProblems(problems, 'links between the directory\'s HSDS lists');
  assert.ok(listed.services.some((s) => s.capacities?.length > 0), 'some service gives its capacity (the first consultations)');
});

test('objects read by id on find.localhost are HSDS 3.1 by the schema and as listed', async (t) => {
  if (needs(t, 'lists')) return;
  const problems = [];
  for (const [list, definition] of Object.entries(LISTS)) {
    const items = listed[list];
    const picks = new Set([items[0], items[Math.floor(items.length / 2)], items.at(-1)]);
    if (list === 'services') picks.add(items.find((s) => s.capacities?.length > 0));
    for (const item of picks) {
      if (!item) continue;
      const answer = await read(FIND, `/hsds/${list}/${item.id}`);
      problems.push(...answerProblems(answer));
      if (answer.json === null) continue;
      problems.push(...schemaProblems(definition, answer.json, answer.where));
      try {
        assert.deepEqual(answer.json, item);
      } catch {
        problems.push(`${answer.where}: not the object /hsds/${list} lists with that id`);
      }
    }
  }
  const missing = await read(FIND, '/hsds/services/00000000-0000-4000-8000-000000000000');
  problems.push(...answerProblems(missing, 404));
  if (typeof missing.json?.error !== 'string') problems.push(`${missing.where}: no JSON error`);
  assertNoProblems(problems, 'HSDS objects read by id');
});

test('a hosted practice serves its own listing as HSDS 3.1, the same as the directory', async (t) => {
  if (needs(t, 'lists')) return;
  const services = (id) => listed.services.filter((s) => s.organization_id === id).map((s) => s.id).sort();
  const organization = listed.organizations.find((o) => o.website && services(o.id).length > 0);
  assert.ok(organization, 'an organization with a website and services');
  const practice = new URL(organization.website);
  assert.match(practice.hostname, /\.localhost$/, `the practice is hosted here (${organization.website})`);
  assert.equal(Number(practice.port), server.port, 'the practice is on the demo\'s port');

  const problems = [];
  const root = await read(practice.host, '/hsds/');
  problems.push(...answerProblems(root));
  problems.push(...schemaProblems('api_root', root.json, root.where));
  if (root.json?.openapi_url && new URL(root.json.openapi_url).host !== practice.host) {
    problems.push(`${root.where}: openapi_url ${root.json.openapi_url} is not on ${practice.host}`);
  }
  const own = await readList(practice.host, 'services', problems);
  const organizations = await readList(practice.host, 'organizations', problems);
  assertNoProblems(problems, `${organization.name}'s own /hsds/`);
  assert.deepEqual(own.map((s) => s.id).sort(), services(organization.id), 'the same services as the directory lists for it');
  assert.ok(own.every((s) => s.organization_id === organization.id), 'every service is its own');
  assert.deepEqual(organizations.map((o) => o.id), [organization.id], 'itself as the one organization');
});

test('the validator is live: a status outside the list, or an id that is not a UUID, fails', async () => {
  const answer = await read(FIND, '/hsds/services?per_page=1');
  assertNoProblems(answerProblems(answer), 'a service to break');
  const [service] = answer.json.contents;
  assert.ok(service, 'a service to break');
  assert.deepEqual(schemaProblems('anteroom_service', service, 'the real service'), [], 'the real service passes');

  const closed = { ...structuredClone(service), status: 'closed for Easter' };
  const notUuid = { ...structuredClone(service), id: `service-${service.id.slice(0, 8)}` };
  for (const definition of ['service', 'anteroom_service']) {
    const status = schemaProblems(definition, closed, 'a bad status');
    assert.ok(status.some((p) => p.includes('/status must be equal to one of the allowed values')), `${definition}: the status is refused (${status.join('; ')})`);
    const id = schemaProblems(definition, notUuid, 'a bad id');
    assert.ok(id.some((p) => p.includes('/id must match format "uuid"')), `${definition}: the id is refused (${id.join('; ')})`);
  }
  const page = { ...answer.json, contents: [closed] };
  const paged = schemaProblems('services_page', page, 'a page with a bad status');
  assert.ok(paged.some((p) => p.includes(`(id ${service.id}): /status`)), `on a page, the error names the service's id (${paged.join('; ')})`);
});
