// The DPO's console in a real browser: Debian's headless Chromium driven through
// playwright-core (the DevTools protocol). Signs in as the data protection officer through
// the development identity provider, answers a subject request for contact 1001 and
// downloads it, approves the permission concept, exports the access log as CSV, opens the
// deletion page, and checks the refusals: a user without the role, a session after expiry,
// a form without its CSRF token, another subject's URL without a session.
//
// Environment: CONSOLE_URL (the console), SHORT_URL (a console whose sessions expire after
// SHORT_TTL_MS), SUBJECT_EMAIL (contact 1001's address), SCREENS (screenshots and
// downloads go there), CHROMIUM (default /usr/bin/chromium). Prints one JSON object: what
// happened, for the Rust test to assert on. Exits non-zero on a failed expectation.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('./node/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const base = process.env.CONSOLE_URL;
const shortBase = process.env.SHORT_URL;
const shortTtl = Number(process.env.SHORT_TTL_MS || '3000');
const email = process.env.SUBJECT_EMAIL;
const TIMEOUT = 120000;
const screens = process.env.SCREENS;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const out = { views: 0, checks: [] };
function check(name, ok, detail = '') {
  out.checks.push({ name, ok: !!ok, detail: String(detail).slice(0, 300) });
}

// A fresh browser profile per person: nothing carries over between them.
async function freshContext() {
  const dir = mkdtempSync(join(tmpdir(), 'crmgate-console-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath, args, headless: true, ignoreHTTPSErrors: true, acceptDownloads: true,
    viewport: { width: 1280, height: 900 }, locale: 'en-GB',
  });
  context.setDefaultTimeout(TIMEOUT);
  context.setDefaultNavigationTimeout(TIMEOUT);
  return { context, dir, page: context.pages()[0] || await context.newPage() };
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(screens, `${name}.png`), fullPage });
}

async function signIn(page, at, user) {
  const first = await page.goto(`${at}/`);
  check(`${user}: unauthenticated overview is 401`, first.status() === 401, first.status());
  await page.click('#sign-in');
  await page.waitForSelector(`#user-${user}`);
  await page.click(`#user-${user}`);
  await page.waitForLoadState('networkidle');
}

async function dpo() {
  const { context, dir, page } = await freshContext();
  await signIn(page, base, 'mira');
  await page.waitForURL(`${base}/`);
  const resp = await page.goto(`${base}/`);
  const csp = resp.headers()['content-security-policy'] || '';
  check('overview answers 200', resp.status() === 200, resp.status());
  check('strict CSP', csp.includes("default-src 'none'") && csp.includes("frame-ancestors 'none'")
    && !csp.includes('unsafe'), csp);
  check('overview shows the chain', (await page.textContent('main')).includes('intact'));
  check('overview has the chart', (await page.locator('svg.chart').count()) === 1);
  await shot(page, '01-overview');

  // Subject request by record id.
  await page.goto(`${base}/subjects`);
  await shot(page, '02-subjects-search');
  await page.fill('#q', '1001');
  await Promise.all([page.waitForURL(`${base}/subjects/contact/1001`), page.click('#find button')]);
  out.views++;
  const text = await page.textContent('main');
  check('subject page shows the Art. 15 answer', text.includes('Art. 15'), text.slice(0, 200));
  check('subject page shows the copy of the data', text.includes('Copy of your data (Art. 15(3) GDPR)')
    && text.includes(email), text.slice(0, 200));
  await shot(page, '03-subject-1001');
  const [html] = await Promise.all([page.waitForEvent('download'), page.click('#download-html')]);
  await html.saveAs(join(screens, 'art15-contact-1001.html'));
  out.views++;
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
  const jsonPath = join(screens, 'art15-contact-1001.json');
  await json.saveAs(jsonPath);
  out.views++;
  const answer = JSON.parse(readFileSync(jsonPath, 'utf8'));
  check('JSON download is the answer for contact/1001', String(answer.record).includes('1001'),
    JSON.stringify(answer).slice(0, 200));
  out.copy_of_data = answer.copy;

  // By e-mail address: looked up through crmgate; the address never appears in a URL.
  await page.goto(`${base}/subjects`);
  await page.fill('#q', email);
  await page.click('#find button');
  await page.waitForLoadState('networkidle');
  out.email_lookup_url = page.url();
  if (page.url() === `${base}/subjects/contact/1001`) out.views++;
  check('no e-mail address in the URL', !page.url().includes('@'), page.url());

  // The permission concept: approve this revision.
  await page.goto(`${base}/concept`);
  await shot(page, '04-concept');
  await shot(page, '04-concept-top', false);
  await page.fill('#comment', 'Reviewed with the works council, Q4');
  await Promise.all([page.waitForURL(`${base}/concept`), page.click('#approve button')]);
  const approval = await page.textContent('#last-approval');
  check('approval shown', approval.includes('mira') && approval.includes('works council'), approval);
  await shot(page, '05-concept-approved', false);

  // The access log: a filter, then the CSV export.
  await page.goto(`${base}/log?purpose=contract_fulfilment`);
  out.views++;
  out.log_rows = await page.locator('table.log tbody tr').count();
  await shot(page, '06-access-log');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  const csvPath = join(screens, 'access-log.csv');
  await csv.saveAs(csvPath);
  out.views++;
  out.csv = readFileSync(csvPath, 'utf8');

  // The deletion concept.
  const del = await page.goto(`${base}/deletion`);
  out.views++;
  check('deletion page answers 200', del.status() === 200, del.status());
  check('deletion page shows the next run', (await page.locator('#next-run').count()) === 1
    && (await page.locator('#no-plan').count()) === 0, (await page.textContent('main')).slice(0, 300));
  await shot(page, '07-deletion');

  // German: every page once more.
  await page.goto(`${base}/?lang=de`);
  check('German overview', (await page.textContent('body')).includes('Übersicht'));
  await shot(page, '08-overview-de');
  await page.goto(`${base}/subjects`);
  await shot(page, '08-subjects-search-de');
  await page.goto(`${base}/subjects/contact/1001`);
  out.views++;
  check('German subject page', (await page.textContent('main')).includes('Kopie Ihrer Daten'));
  await shot(page, '08-subject-1001-de');
  await page.goto(`${base}/concept`);
  await shot(page, '08-concept-de', false);
  await page.goto(`${base}/log?purpose=contract_fulfilment`);
  out.views++;
  await shot(page, '08-access-log-de');
  await page.goto(`${base}/deletion`);
  out.views++;
  check('German deletion page', (await page.textContent('main')).includes('Lösch'));
  await shot(page, '08-deletion-de');

  // A form without its CSRF token is refused (the field removed before sending).
  await page.goto(`${base}/concept?lang=en`);
  await page.evaluate(() => document.querySelector('#approve input[name=csrf]').remove());
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/concept/approve')),
    page.click('#approve button'),
  ]);
  out.csrf_status = refused.status();
  await page.waitForLoadState('networkidle');
  await shot(page, '09-refused-csrf');
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}

async function refusals() {
  // Another subject's URL without a session.
  {
    const { context, dir, page } = await freshContext();
    const r = await page.goto(`${base}/subjects/contact/1002`);
    out.no_session_status = r.status();
    out.no_session_text = (await page.textContent('body')).slice(0, 400);
    await shot(page, '10-refused-no-session');
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // A user without the role.
  {
    const { context, dir, page } = await freshContext();
    const seen = [];
    page.on('response', (r) => { if (r.url().includes('/callback')) seen.push(r.status()); });
    await signIn(page, base, 'holly');
    out.no_role_status = seen[0];
    await shot(page, '11-refused-no-role');
    const again = await page.goto(`${base}/`);
    out.no_role_after = again.status();
    await shot(page, '11-no-session-after-refusal');
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // The security role: the console, but no subject data.
  {
    const { context, dir, page } = await freshContext();
    await signIn(page, base, 'frost');
    await page.waitForURL(`${base}/`);
    const r = await page.goto(`${base}/subjects/contact/1001`);
    out.security_subject_status = r.status();
    await shot(page, '12-security-no-subject');
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // A session after its expiry.
  {
    const { context, dir, page } = await freshContext();
    await signIn(page, shortBase, 'mira');
    await page.waitForURL(`${shortBase}/`);
    const fresh = await page.goto(`${shortBase}/`);
    out.short_fresh_status = fresh.status();
    await page.waitForTimeout(shortTtl + 1000);
    const late = await page.goto(`${shortBase}/`);
    out.expired_status = late.status();
    await shot(page, '13-refused-expired');
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await dpo();
  await refusals();
} catch (e) {
  out.error = String(e && e.stack || e);
}
console.log(JSON.stringify(out));
process.exit(out.error || out.checks.some((c) => !c.ok) ? 1 : 0);
