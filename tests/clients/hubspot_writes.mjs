#!/usr/bin/env node
// Drive the official HubSpot Node client (npm `@hubspot/api-client`, installed
// in tests/clients/node/) through the write path: create, update, read,
// search, batch create, archive.
//
// Usage:
//   node tests/clients/hubspot_writes.mjs [BASE_URL]
//
//   BASE_URL              or env CRMGATE_BASE_URL; may carry a path prefix, e.g.
//                         https://localhost:8443/purpose/prospect_management
//   CRMGATE_TOKEN         the bearer token the client sends (default "demo-token")
//   CRMGATE_CA            optional CA file (PEM) for https, e.g. certs/ca.pem
//   CRMGATE_EMAIL_DOMAIN  optional domain of the e-mail addresses it makes up
//
// Each step prints one JSON line on stdout:
//   {"step": ..., "status": <HTTP status>, "id": ..., "properties": {...}}
// and, when the API refused the call (ApiException), "error": <the response
// body> instead of crashing ("status": null when no HTTP answer came, e.g.
// connection refused or an untrusted certificate). The client is built without
// retries (numberOfApiCallRetries 0) and without a rate limiter, so every call
// is sent exactly once. Exits 0 when every step ran (whatever the statuses), 2 on a
// usage error.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';

// The client lives in tests/clients/node/node_modules, next to this script.
const require = createRequire(new URL('./node/package.json', import.meta.url));
const hubspot = require('@hubspot/api-client');

const WISH =
  'A sledge for the whole family and a book about reindeer. Our daughter has diabetes, ' +
  'so no sweets please. Pay from DE89 3704 0044 0532 0130 00.';

function emit(step, status, record, error, extra = {}) {
  const line = { step, status };
  if (record) {
    line.id = record.id ?? null;
    line.properties = record.properties ?? {};
  }
  if (error !== undefined) {
    line.error = error;
  }
  Object.assign(line, extra);
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function errorBody(error) {
  let body = error?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // keep the text
    }
  }
  return body ?? String(error?.message ?? error);
}

// Runs one client call (a *WithHttpInfo variant) and prints its line; returns
// the data or null. Only an ApiException (an HTTP answer) is reported as a
// step result; anything else (connection refused, TLS) still prints a line.
async function run(step, call) {
  try {
    const info = await call();
    const data = info.data;
    if (data && Array.isArray(data.results)) {
      emit(step, info.httpStatusCode, data.results[0] ?? {}, undefined, {
        ids: data.results.map((r) => r.id),
        total: data.total ?? null,
        numErrors: data.numErrors ?? null,
      });
    } else {
      emit(step, info.httpStatusCode, data ?? null);
    }
    return data;
  } catch (error) {
    const status = typeof error?.code === 'number' ? error.code : null;
    emit(step, status, null, errorBody(error));
    return null;
  }
}

async function main() {
  const base = (process.argv[2] ?? process.env.CRMGATE_BASE_URL ?? '').replace(/\/+$/, '');
  if (!base) {
    process.stderr.write('usage: node hubspot_writes.mjs BASE_URL (or env CRMGATE_BASE_URL)\n');
    return 2;
  }
  // The generated APIs of @hubspot/api-client 13.5.0 ignore the `httpAgent`,
  // `defaultHeaders` and `middleware` options (the configured middleware only
  // runs when a call passes its own options), so node-fetch falls back to
  // Node's global agent: the CA goes there (NODE_EXTRA_CA_CERTS works too).
  const ca = process.env.CRMGATE_CA;
  if (ca) {
    https.globalAgent.options.ca = readFileSync(ca);
  }
  const client = new hubspot.Client({
    accessToken: process.env.CRMGATE_TOKEN ?? 'demo-token',
    basePath: base,
    // No RetryDecorator: with a positive value the client re-sends any call,
    // POST and PATCH included, after a 5xx or certain 429 answers.
    numberOfApiCallRetries: 0,
  });
  const contacts = client.crm.contacts;

  const domain = process.env.CRMGATE_EMAIL_DOMAIN ?? 'wishlist.example';
  const stamp = `${Date.now()}-${process.pid}`;
  const email = `node-${stamp}@${domain}`;

  const created = await run('create', () =>
    contacts.basicApi.createWithHttpInfo({
      properties: { email, firstname: 'Tiny', lastname: 'Tim', lifecyclestage: 'lead', wish_text: WISH },
      associations: [],
    }),
  );
  const contactId = created?.id;

  if (contactId) {
    await run('update', () =>
      contacts.basicApi.updateWithHttpInfo(contactId, {
        properties: { lastname: 'Cratchit', city: 'London' },
      }),
    );
    await run('read', () =>
      contacts.basicApi.getByIdWithHttpInfo(contactId, [
        'email',
        'firstname',
        'lastname',
        'city',
        'wish_text',
      ]),
    );
  } else {
    emit('update', null, null, 'skipped: create failed');
    emit('read', null, null, 'skipped: create failed');
  }

  await run('search', () =>
    contacts.searchApi.doSearchWithHttpInfo({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }],
      properties: ['email', 'firstname', 'lastname', 'city'],
      limit: 10,
    }),
  );

  const batch = await run('batch_create', () =>
    contacts.batchApi.createWithHttpInfo({
      inputs: [
        { properties: { email: `node-${stamp}-1@${domain}`, firstname: 'Peter', lifecyclestage: 'lead' }, associations: [] },
        { properties: { email: `node-${stamp}-2@${domain}`, firstname: 'Martha', lifecyclestage: 'lead' }, associations: [] },
      ],
    }),
  );
  const batchIds = (batch?.results ?? []).map((r) => r.id).sort();
  if (batchIds.length > 0) {
    const archivedId = batchIds[0];
    try {
      const info = await contacts.basicApi.archiveWithHttpInfo(archivedId);
      emit('archive', info.httpStatusCode, { id: archivedId, properties: {} });
    } catch (error) {
      const status = typeof error?.code === 'number' ? error.code : null;
      emit('archive', status, null, errorBody(error), { id: archivedId });
    }
  } else {
    emit('archive', null, null, 'skipped: batch create failed');
  }
  return 0;
}

process.exitCode = await main();
