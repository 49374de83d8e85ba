#!/usr/bin/env node
// Drive the Salesforce Node client (npm `jsforce`, installed in tests/clients/node/)
// through crmgate, unchanged: query, query_all (every page), query_deleted (queryAll),
// get, describe, create, update, upsert by external id, delete, and one refused call.
//
// Usage:
//   node tests/clients/salesforce_clients.mjs [BASE_URL]
//
//   BASE_URL              or env CRMGATE_BASE_URL: the instance URL, with a path prefix
//                         if any, e.g. https://localhost:8443/purpose/prospect_management
//   CRMGATE_TOKEN         the access token the client sends as its bearer token
//                         (through crmgate a demo API key such as demo-key-holly)
//   CRMGATE_CA            optional CA file (PEM) for https; Node reads it only at start,
//                         so the caller sets NODE_EXTRA_CA_CERTS to the same file
//   CRMGATE_API_VERSION   the API version (default 62.0)
//   CRMGATE_SF_QUERY, CRMGATE_SF_QUERY_ALL, CRMGATE_SF_GET, CRMGATE_SF_REFUSED,
//   CRMGATE_SF_SKIP_WRITES  as for salesforce_clients.py
//
// jsforce keeps the instance URL as given (`instanceUrl + '/services/data/v62.0'`), path
// included; a next page is the last segment of `nextRecordsUrl` under `…/query/`.
//
// Each step prints one JSON line on stdout:
//   {"step": ..., "status": <HTTP status or null>, ...what the step returned...}
// and, when the client threw, "exception": the error's name (jsforce names it by the
// errorCode), "errorCode" and "error": the error's data. jsforce does not expose the HTTP
// status of an error: "status" is then null. Exits 0 when every step ran (whatever the
// outcomes), 2 on a usage error.

import { createRequire } from 'node:module';

// The client lives in tests/clients/node/node_modules, next to this script.
const require = createRequire(new URL('./node/package.json', import.meta.url));
const jsforce = require('jsforce');

const WISH =
  'A sledge for the whole family and a book about reindeer. Our daughter has diabetes, ' +
  'so no sweets please. Pay from DE89 3704 0044 0532 0130 00.';
const QUERY =
  'SELECT Id, FirstName, LastName, Email, Phone, Birthdate, MailingCity, Lifecycle__c, ' +
  'Account.Name FROM Contact ORDER BY LastName LIMIT 20';
const QUERY_ALL = 'SELECT Id, LastName FROM Contact';
const REFUSED = 'SELECT Id FROM Contact WHERE Billing_IBAN__c != null';

function emit(step, status, fields = {}) {
  const line = { step, status, ...fields };
  const sorted = Object.fromEntries(Object.keys(line).sort().map((key) => [key, line[key]]));
  process.stdout.write(`${JSON.stringify(sorted)}\n`);
}

async function run(step, call, shape) {
  let result;
  try {
    result = await call();
  } catch (error) {
    emit(step, null, {
      exception: error?.name ?? 'Error',
      errorCode: error?.errorCode ?? null,
      error: error?.data ?? String(error?.message ?? error),
    });
    return null;
  }
  const [status, fields] = shape(result);
  emit(step, status, fields);
  return result;
}

function recordsLine(result) {
  const records = result?.records ?? [];
  return [
    200,
    {
      totalSize: result?.totalSize ?? null,
      done: result?.done ?? null,
      ids: records.map((r) => r.Id ?? null),
      records,
    },
  ];
}

async function writes(conn) {
  const stamp = `${Date.now()}-${process.pid}`;
  const contacts = conn.sobject('Contact');
  const created = await run(
    'create',
    () =>
      contacts.create({
        FirstName: 'Tiny',
        LastName: 'Tim',
        Email: `node-${stamp}@wishlist.example`,
        Lifecycle__c: 'subscriber',
        Wish_Text__c: WISH,
      }),
    (r) => [r?.success ? 201 : null, { id: r?.id ?? null, result: r }],
  );
  const id = created?.success ? created.id : null;
  if (id) {
    await run(
      'update',
      () => contacts.update({ Id: id, LastName: 'Cratchit', MailingCity: 'London' }),
      (r) => [r?.success ? 204 : null, { id, result: r }],
    );
    await run('read_back', () => contacts.retrieve(id), (r) => [200, { id: r?.Id ?? null, record: r }]);
  } else {
    for (const step of ['update', 'read_back']) emit(step, null, { error: 'skipped: create failed' });
  }
  const external = `C-NODE-${stamp}`;
  await run(
    'upsert',
    () =>
      contacts.upsert(
        { External_Id__c: external, LastName: 'Fezziwig', FirstName: 'Old', Lifecycle__c: 'subscriber' },
        'External_Id__c',
      ),
    (r) => [r?.success ? (r.created === false ? 200 : 201) : null, { externalId: external, result: r }],
  );
  await run(
    'upsert_again',
    () => contacts.upsert({ External_Id__c: external, Title: 'Master of the warehouse' }, 'External_Id__c'),
    (r) => [r?.success ? (r.created === true ? 201 : 200) : null, { externalId: external, result: r }],
  );
  await collections(contacts, stamp);
  if (id) {
    await run('delete', () => contacts.destroy(id), (r) => [r?.success ? 204 : null, { id, result: r }]);
    await run('get_deleted', () => contacts.retrieve(id), (r) => [200, { record: r }]);
  } else {
    for (const step of ['delete', 'get_deleted']) emit(step, null, { error: 'skipped: create failed' });
  }
}

// sObject Collections: jsforce sends an array of records (or ids) as one request to
// `…/composite/sobjects` (create, update, destroy) or `…/composite/sobjects/Contact` (retrieve).
const MISSING_ID = '003Dm0000009999';

function results(r) {
  const list = Array.isArray(r) ? r : [];
  return [200, { results: list, ok: list.map((x) => x?.success === true) }];
}

async function collections(contacts, stamp) {
  const created = await run(
    'collection_create',
    () =>
      contacts.create(
        ['Holly', 'Ivy'].map((first) => ({
          FirstName: first,
          LastName: 'Berry',
          Email: `node-${first.toLowerCase()}-${stamp}@wishlist.example`,
          Lifecycle__c: 'subscriber',
          Billing_IBAN__c: 'DE89370400440532013000',
        })),
        { allOrNone: true },
      ),
    results,
  );
  const ids = (created ?? []).filter((r) => r?.success).map((r) => r.id);
  await run(
    'collection_retrieve',
    () => contacts.retrieve([...ids, MISSING_ID], { fields: ['Id', 'LastName', 'FirstName'] }),
    (r) => [200, { records: r }],
  );
  await run(
    'collection_update',
    () => contacts.update(ids.map((Id) => ({ Id, LastName: 'Holly-Berry' })), { allOrNone: true }),
    results,
  );
  await run('collection_destroy', () => contacts.destroy([...ids, MISSING_ID]), results);
}

async function main() {
  const base = (process.argv[2] ?? process.env.CRMGATE_BASE_URL ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\/./.test(base)) {
    process.stderr.write('usage: node tests/clients/salesforce_clients.mjs BASE_URL\n');
    return 2;
  }
  const conn = new jsforce.Connection({
    instanceUrl: base,
    accessToken: process.env.CRMGATE_TOKEN ?? 'demo-token',
    version: process.env.CRMGATE_API_VERSION ?? '62.0',
  });
  const env = process.env;
  await run('query', () => conn.query(env.CRMGATE_SF_QUERY ?? QUERY), recordsLine);
  const queryAll = env.CRMGATE_SF_QUERY_ALL ?? QUERY_ALL;
  await run(
    'query_all',
    () => conn.query(queryAll, { autoFetch: true, maxFetch: 100000 }),
    recordsLine,
  );
  await run(
    'query_deleted',
    () => conn.query(queryAll, { autoFetch: true, maxFetch: 100000, scanAll: true }),
    recordsLine,
  );
  const getId = env.CRMGATE_SF_GET ?? '003Dm0000001001';
  await run('get', () => conn.sobject('Contact').retrieve(getId), (r) => [200, { id: r?.Id ?? null, record: r }]);
  await run(
    'describe',
    () => conn.sobject('Contact').describe(),
    (r) => [200, { fields: (r?.fields ?? []).map((f) => f.name) }],
  );
  if (env.CRMGATE_SF_SKIP_WRITES !== '1') {
    await writes(conn);
  }
  await run('refused', () => conn.query(env.CRMGATE_SF_REFUSED ?? REFUSED), recordsLine);
  return 0;
}

process.exitCode = await main();
