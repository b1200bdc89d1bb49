// End-to-end run of the SPA against a real `pos serve` (POS_URL) with the seeded demo venue,
// in Debian's Chromium (CHROMIUM, default /usr/bin/chromium) driven by playwright-core.
// Elements are found by role and accessible name only. Every screen is checked with
// axe-core (no serious or critical violations) and photographed into e2e-output/screenshots.
// Exit code 0 when everything passed; otherwise the failures are printed.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { backoffice } from './backoffice.mjs';
import { bill } from './bill.mjs';
import { courses } from './courses.mjs';

const BASE = process.env.POS_URL ?? 'http://127.0.0.1:3000';
const PASSWORD = process.env.SEED_PASSWORD ?? 'password123';
const NEW_PASSWORD = 'a-new-long-password-1';
const OUT = process.env.E2E_OUT ?? 'e2e-output';
const SHOTS = join(OUT, 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const TIMEOUT = 15_000;
// E2E_ONLY=backoffice or =pos runs one half (for working on it); CI runs both.
const ONLY = process.env.E2E_ONLY;
const newContext = async (opts) => {
  const c = await browser.newContext(opts);
  c.setDefaultTimeout(TIMEOUT);
  return c;
};

const failures = [];
const t0 = Date.now();
function log(msg) {
  console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}
function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ---- set-up through the API (bearer tokens: no cookies, no CSRF) ----
async function call(method, path, { token, body, key } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  const r = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** Signs `username` in and, the first time, replaces the seeded password. */
async function ready(username) {
  let r = await call('POST', '/api/auth/login', { body: { username, password: PASSWORD } });
  if (r.status === 401) r = await call('POST', '/api/auth/login', { body: { username, password: NEW_PASSWORD } });
  expect(r.status === 200, `login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  if (r.body.staff.must_change_password) {
    const c = await call('POST', '/api/auth/change-password', {
      token: r.body.token,
      body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(c.status === 200, `change-password ${username}: ${c.status} ${JSON.stringify(c.body)}`);
    return c.body;
  }
  return r.body;
}

// ---- browser helpers ----
async function axe(page, name) {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  if (violations.length) failures.push(`axe on ${name}:\n  ${violations.join('\n  ')}`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function screen(page, name) {
  await shot(page, name);
  await axe(page, name);
  log(`screen ${name} checked`);
}

async function enabled(locator) {
  const until = Date.now() + TIMEOUT;
  while (!(await locator.isEnabled())) {
    if (Date.now() > until) throw new Error(`${locator} never became enabled`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function step(name, fn) {
  log(name);
  try {
    await fn();
  } catch (e) {
    failures.push(`${name}: ${e.stack ?? e}`);
    // What each page showed when the step failed, for the report.
    let n = 0;
    for (const ctx of browser.contexts()) for (const p of ctx.pages()) await p.screenshot({ path: join(OUT, `failure-${++n}.png`) }).catch(() => {});
    throw e;
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const tablet = { viewport: { width: 1280, height: 800 }, bypassCSP: true, serviceWorkers: 'allow' };
const screen24 = { viewport: { width: 1920, height: 1080 }, bypassCSP: true };

try {
  let admin, manager;
  await step('set-up: staff passwords and a PIN through the API', async () => {
    admin = await ready('able');
    manager = await ready('linus');
    await ready('phiona');
    const staff = await call('GET', '/api/admin/staff', { token: admin.token });
    const phiona = staff.body.find((s) => s.username === 'phiona');
    const linus = staff.body.find((s) => s.username === 'linus');
    for (const [s, pin] of [[phiona, '1357'], [linus, '2468']]) {
      const r = await call('PUT', `/api/admin/staff/${s.id}/pin`, { token: admin.token, body: { pin } });
      expect(r.status < 300, `set pin: ${r.status} ${JSON.stringify(r.body)}`);
    }
  });

  // The back office (issue 14): admin panel and manager screens.
  if (ONLY !== 'pos') await backoffice({ browser, newContext, step, screen, call, expect, log, admin, manager, BASE, PASSWORD, NEW_PASSWORD, OUT, TIMEOUT, tablet });

  if (ONLY !== 'backoffice') {
    // ---- the cashier ----
    const pos = await newContext(tablet);
    const cashier = await pos.newPage();
    let number;
    await step('cashier signs in with a PIN on terminal pos-1', async () => {
      await cashier.goto(BASE + '/');
      await cashier.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: TIMEOUT });
      await cashier.getByRole('button', { name: 'PIN' }).click();
      await cashier.getByLabel('Terminal code').fill('pos-1');
      await cashier.getByRole('button', { name: 'Use this terminal' }).click();
      for (const d of '1357') await cashier.getByRole('button', { name: `Digit ${d}`, exact: true }).click();
      await screen(cashier, 'login-pin');
      await cashier.getByRole('button', { name: 'Sign in with PIN' }).click();
      await cashier.getByRole('heading', { name: 'Tables' }).waitFor({ timeout: TIMEOUT });
      await cashier.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: TIMEOUT });
      await enabled(cashier.getByRole('button', { name: 'New takeaway' }));
      await screen(cashier, 'pos-floor');
    });

    await step('cashier opens T1, orders food and drinks, sends', async () => {
      await cashier.getByRole('button', { name: /^Table T1 Free/ }).click();
      await cashier.getByRole('group', { name: 'Categories' }).getByRole('button', { name: 'Food' }).click();
      await cashier.getByRole('button', { name: /^English Breakfast /i }).click();
      await cashier.getByRole('button', { name: /^English Breakfast /i }).click();
      await cashier.getByRole('button', { name: 'Course 2' }).click();
      await cashier.getByRole('button', { name: /^Quick Man Breakfast /i }).click();
      await cashier.getByRole('button', { name: 'Course 2' }).click();
      await cashier.getByRole('group', { name: 'Categories' }).getByRole('button', { name: 'Drinks' }).click();
      await cashier.getByRole('button', { name: /^Local Beer /i }).click();
      await cashier.getByRole('searchbox', { name: 'Search the menu' }).fill('wine');
      await cashier.getByRole('button', { name: /^Red Wine \(Glass\) /i }).click();
      await screen(cashier, 'pos-order');
      await cashier.getByRole('button', { name: 'Send to kitchen/bar' }).click();
      const toast = cashier.getByRole('status').filter({ hasText: /Order #\d+ sent/ });
      await toast.waitFor({ timeout: TIMEOUT });
      number = Number((await toast.textContent()).match(/#(\d+)/)[1]);
      log(`order #${number} sent`);
      await cashier.getByRole('button', { name: new RegExp(`^Table T1 Occupied order #${number} `) }).waitFor({ timeout: TIMEOUT });
    });

    // ---- the kitchen: forced password change, then the ticket ----
    const kitchenCtx = await newContext(screen24);
    const kitchen = await kitchenCtx.newPage();
    await step('cook signs in, must change the password, sees the ticket, bumps it', async () => {
      await kitchen.goto(BASE + '/');
      await kitchen.getByRole('button', { name: 'Password' }).click();
      await kitchen.getByLabel('Username').fill('emma');
      await kitchen.getByLabel('Password').fill(PASSWORD);
      await screen(kitchen, 'login-password');
      await kitchen.getByRole('button', { name: 'Sign in' }).click();
      await kitchen.getByRole('heading', { name: 'Choose a new password' }).waitFor({ timeout: TIMEOUT });
      await screen(kitchen, 'change-password');
      await kitchen.getByLabel('Current password').fill(PASSWORD);
      await kitchen.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await kitchen.getByLabel('Repeat new password').fill(NEW_PASSWORD);
      await kitchen.getByRole('button', { name: 'Change password' }).click();
      const ticket = kitchen.getByRole('article', { name: `Ticket ${number}` });
      await ticket.waitFor({ timeout: TIMEOUT });
      await kitchen.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: TIMEOUT });
      expect(await ticket.getByRole('button', { name: /English Breakfast/ }).count() === 1, 'the kitchen ticket lists the breakfast');
      expect(await ticket.getByRole('button', { name: /Local Beer/ }).count() === 0, 'drinks are not on the kitchen ticket');
      await screen(kitchen, 'kds-kitchen');
      // One item first (sent → preparing), then the whole ticket.
      await ticket.getByRole('button', { name: /^Bump 2× English Breakfast New/ }).click();
      await ticket.getByRole('button', { name: /^Bump 2× English Breakfast Preparing/ }).waitFor({ timeout: TIMEOUT });
      await ticket.getByRole('button', { name: `Bump ticket #${number}` }).click();
      await ticket.getByRole('button', { name: `Bump ticket #${number}` }).waitFor({ state: 'detached', timeout: TIMEOUT });
      await ticket.getByRole('button', { name: /^Bump 2× English Breakfast Ready/ }).waitFor({ timeout: TIMEOUT });
      // Recall the last bump, then bump it again.
      await kitchen.getByRole('button', { name: /^Recall ticket #/ }).click();
      await ticket.getByRole('button', { name: `Bump ticket #${number}` }).waitFor({ timeout: TIMEOUT });
      await ticket.getByRole('button', { name: `Bump ticket #${number}` }).click();
      await ticket.getByRole('button', { name: `Bump ticket #${number}` }).waitFor({ state: 'detached', timeout: TIMEOUT });
    });

    await courses({ BASE, cashier, kitchen, manager, call, step, screen, expect, log, TIMEOUT });

    // ---- expo and board (a manager) ----
    const floorCtx = await newContext(screen24);
    const mgr = await floorCtx.newPage();
    await step('manager: expo bumps the bar ticket; the board shows the number ready', async () => {
      await mgr.goto(BASE + '/board');
      await mgr.getByRole('button', { name: 'Password' }).click();
      await mgr.getByLabel('Username').fill('linus');
      await mgr.getByLabel('Password').fill(NEW_PASSWORD);
      await mgr.getByRole('button', { name: 'Sign in' }).click();
      await mgr.getByRole('list', { name: 'Preparing' }).getByText(String(number), { exact: true }).waitFor({ timeout: TIMEOUT });
      await screen(mgr, 'board-preparing');
      const board = mgr.url();
      await mgr.goto(BASE + '/kds?station=expo');
      await mgr.getByRole('heading', { name: 'Expo' }).waitFor({ timeout: TIMEOUT });
      await mgr.getByRole('button', { name: `Bump ticket #${number}` }).waitFor({ timeout: TIMEOUT });
      await screen(mgr, 'kds-expo');
      await mgr.getByRole('button', { name: `Bump ticket #${number}` }).click();
      await mgr.getByRole('button', { name: `Bump ticket #${number}` }).waitFor({ state: 'detached', timeout: TIMEOUT });
      await mgr.goto(board);
      // Every station has made what it was sent, but course 2 is still held: the customer
      // must not be told the order is ready.
      const all = await call('GET', '/api/orders?limit=500', { token: manager.token });
      const held = all.body.find((o) => o.number === number);
      expect(held.items.some((i) => i.status === 'held'), `order #${number} has a held course: ${held.items.map((i) => i.status)}`);
      await mgr.getByRole('list', { name: 'Preparing' }).getByText(String(number), { exact: true }).waitFor({ timeout: TIMEOUT });
      await mgr.waitForTimeout(500);
      expect((await mgr.getByRole('list', { name: 'Ready' }).getByText(String(number), { exact: true }).count()) === 0, `order #${number} is not ready while course 2 is held`);
      // The waiter fires course 2, the kitchen makes it: now it is ready.
      const fired = await call('POST', `/api/orders/${held.id}/courses/2/fire`, { token: manager.token, key: 'e2e-board-fire' });
      expect(fired.status === 200, `fire course 2: ${fired.status} ${JSON.stringify(fired.body)}`);
      const made = await call('POST', `/api/kds/orders/${held.id}/bump?station=kitchen`, { token: manager.token, key: 'e2e-board-bump' });
      expect(made.status === 200, `bump course 2: ${made.status} ${JSON.stringify(made.body)}`);
      await mgr.getByRole('list', { name: 'Ready' }).getByText(String(number), { exact: true }).waitFor({ timeout: TIMEOUT });
      await screen(mgr, 'board');
    });

    await step('cashier: open orders; move the order to T4, void it with the manager\'s PIN', async () => {
      await cashier.getByRole('button', { name: 'Open orders' }).click();
      await cashier.getByRole('button', { name: `Open order ${number}` }).waitFor({ timeout: TIMEOUT });
      await screen(cashier, 'pos-open-orders');
      await cashier.getByRole('button', { name: `Move order ${number}` }).click();
      const move = cashier.getByRole('dialog', { name: `Move order #${number}` });
      await move.getByLabel('To table').selectOption({ label: 'T4 (Free)' });
      await move.getByRole('button', { name: 'Move' }).click();
      await move.waitFor({ state: 'detached' });
      await cashier.getByRole('row', { name: new RegExp(`#${number} T4 `) }).waitFor();
      await cashier.getByRole('button', { name: `Void order ${number}` }).click();
      const dialog = cashier.getByRole('dialog', { name: `Void order #${number}` });
      await dialog.getByLabel('Reason').fill('Guests left before eating');
      await dialog.getByLabel("Manager's PIN").fill('2468');
      await screen(cashier, 'pos-void-dialog');
      await dialog.getByRole('button', { name: 'Void order' }).click();
      await dialog.waitFor({ state: 'detached' });
      await cashier.getByRole('button', { name: `Open order ${number}` }).waitFor({ state: 'detached' });
      const voided = await call('GET', '/api/orders?status=voided', { token: manager.token });
      expect(voided.body.some((o) => o.number === number && o.void), `order #${number} is voided on the server`);
      await cashier.getByRole('button', { name: 'Floor' }).click();
      await cashier.getByRole('button', { name: /^Table T4 Free/ }).waitFor();
    });

    // ---- shift and bill ----
    let shiftId;
    await step('cashier opens a shift with a float, records cash in, reads the X report', async () => {
      await cashier.getByRole('status').filter({ hasText: 'No shift open' }).waitFor();
      await cashier.getByRole('button', { name: 'Shift', exact: true }).click();
      await cashier.getByRole('heading', { name: 'Open a shift' }).waitFor();
      await cashier.getByLabel('Opening float').fill('100,000');
      await screen(cashier, 'pos-shift-open');
      await cashier.getByRole('button', { name: 'Open shift with USh 100,000' }).click();
      await cashier.getByRole('heading', { name: /^Shift open since/ }).waitFor();
      await cashier.getByLabel('Amount').fill('20000');
      await cashier.getByLabel('Reason').fill('change top-up');
      await cashier.getByRole('button', { name: 'Record cash in' }).click();
      await cashier.getByRole('status').filter({ hasText: 'Cash in of USh 20,000 recorded.' }).waitFor();
      await cashier.getByRole('row', { name: 'Expected in drawer USh 120,000' }).waitFor();
      await screen(cashier, 'pos-shift');
      await cashier.getByRole('button', { name: 'X report' }).click();
      const report = cashier.getByRole('dialog', { name: 'X report' });
      await report.getByRole('row', { name: 'Cash in USh 20,000' }).waitFor();
      await screen(cashier, 'pos-x-report');
      await report.getByRole('button', { name: 'Close' }).click();
    });

    await step('cashier takes an order at T1 for two seats; the bar readies it; the bill is split cash (seat 1) + MoMo (offline, replayed once)', async () => {
      await cashier.getByRole('button', { name: 'Floor' }).click();
      await cashier.getByRole('button', { name: /^Table T1 Free/ }).click();
      await cashier.getByRole('searchbox', { name: 'Search the menu' }).fill('');
      await cashier.getByRole('group', { name: 'Categories' }).getByRole('button', { name: 'Drinks' }).click();
      await cashier.getByRole('button', { name: 'Seat 1' }).click();
      await cashier.getByRole('button', { name: /^Local Beer /i }).click();
      await cashier.getByRole('button', { name: /^Local Beer /i }).click();
      await cashier.getByRole('button', { name: 'Seat 2' }).click();
      await cashier.getByRole('button', { name: /^Craft Beer /i }).click();
      await cashier.getByRole('button', { name: 'Send to kitchen/bar' }).click();
      const toast = cashier.getByRole('status').filter({ hasText: /Order #\d+ sent/ });
      await toast.waitFor();
      const billNumber = Number((await toast.textContent()).match(/#(\d+)/)[1]);
      const list = await call('GET', '/api/orders?status=sent', { token: manager.token });
      let order = list.body.find((o) => o.number === billNumber);
      expect(order, `order #${billNumber} on the server`);
      // The bar finishes the drinks (an order closes only once nothing is at a station).
      for (let i = 0; i < 3 && order.items.some((it) => it.status !== 'ready'); i++) {
        const b = await call('POST', `/api/kds/orders/${order.id}/bump?station=bar`, { token: manager.token, key: `e2e-bill-bump-${i}` });
        expect(b.status === 200, `bump: ${b.status} ${JSON.stringify(b.body)}`);
        order = (await call('GET', `/api/orders/${order.id}`, { token: manager.token })).body;
      }
      expect(order.items.every((it) => it.status === 'ready'), `drinks ready: ${order.items.map((it) => it.status)}`);
      const seat1 = order.items.filter((it) => it.seat === 1).reduce((s, it) => s + it.total, 0);
      const seat2 = order.total - seat1;
      const ugx = (n) => `USh ${n.toLocaleString('en-US')}`;

      await cashier.getByRole('button', { name: new RegExp(`^Table T1 Occupied order #${billNumber} `) }).click();
      await cashier.getByRole('button', { name: 'Bill', exact: true }).click();
      await cashier.getByRole('heading', { name: new RegExp(`^Bill · Table T1 #${billNumber}`) }).waitFor();
      await cashier.getByText(`Balance due`).waitFor();
      // Seat 1 in cash: 5,000 over the amount, the change is shown before and after.
      const pay = cashier.getByRole('region', { name: 'Take a payment' });
      await pay.getByRole('group', { name: 'This payment covers' }).getByRole('button', { name: 'Seat' }).click();
      await pay.getByRole('button', { name: `Seat 1 · ${ugx(seat1)}` }).click();
      await pay.getByLabel('Cash handed over').fill(String(seat1 + 5000));
      await pay.getByText('Change: USh 5,000').waitFor();
      await screen(cashier, 'pos-bill-cash');
      await pay.getByRole('button', { name: `Take Cash · ${ugx(seat1)}` }).click();
      await pay.getByRole('status').filter({ hasText: 'Change to give: USh 5,000' }).waitFor();
      await cashier.getByRole('region', { name: 'Bill summary' }).getByText(ugx(seat2), { exact: true }).first().waitFor();
      // The rest by MTN MoMo while the network is down: it queues with its key.
      await pos.setOffline(true);
      await cashier.getByRole('status').filter({ hasText: 'Offline' }).waitFor();
      await pay.getByRole('button', { name: 'MTN MoMo' }).click();
      await pay.getByLabel('MoMo transaction reference').fill('MP241207.1530.A12345');
      await screen(cashier, 'pos-bill-momo');
      await pay.getByRole('button', { name: `Take MTN MoMo · ${ugx(seat2)}` }).click();
      await pay.getByRole('status').filter({ hasText: 'queued, it will be sent' }).waitFor();
      const during = (await call('GET', `/api/orders/${order.id}`, { token: manager.token })).body;
      expect(during.paid === seat1 && during.status !== 'closed', `only the cash reached the server while offline: paid ${during.paid}, ${during.status}`);
      await pos.setOffline(false);
      await pay.getByRole('status').filter({ hasText: `Order #${billNumber} is paid and closed; Table T1 is free.` }).waitFor({ timeout: 20_000 });
      await pay.getByLabel('Receipt text').filter({ hasText: 'Craft Beer' }).waitFor();
      // The receipt view, with its reprint, in the picture.
      await pay.getByRole('button', { name: 'Reprint receipt' }).scrollIntoViewIfNeeded();
      await screen(cashier, 'pos-bill-paid');
      // Through the API: closed, nothing due, paid exactly once each, on the cashier's shift.
      await cashier.waitForTimeout(1000);
      const closed = (await call('GET', `/api/orders/${order.id}`, { token: manager.token })).body;
      expect(closed.status === 'closed' && closed.balance === 0 && closed.paid === closed.total, `order closed and paid: ${closed.status} ${closed.paid}/${closed.total}`);
      const tables = (await call('GET', '/api/tables', { token: manager.token })).body;
      expect(tables.find((t) => t.code === 'T1').state === 'free', 'T1 is free on the server');
      shiftId = closed.shift_id;
      const shift = (await call('GET', `/api/shifts/${shiftId}`, { token: manager.token })).body;
      expect(shift.cash.cash_sales === seat1, `the drawer counts the cash once: ${shift.cash.cash_sales} vs ${seat1}`);
      expect(shift.cash.expected === 120000 + seat1, `expected cash ${shift.cash.expected}`);
      await pay.getByRole('button', { name: 'Back to the floor' }).click();
      await cashier.getByRole('button', { name: /^Table T1 Free/ }).waitFor();
    });

    await bill({ cashier, manager, call, step, screen, expect, log, TIMEOUT });

    await step('cashier closes the shift 10,000 short: the manager approves with a PIN', async () => {
      const shift = (await call('GET', `/api/shifts/${shiftId}`, { token: manager.token })).body;
      const counted = shift.cash.expected - 10000;
      await cashier.getByRole('button', { name: 'Shift', exact: true }).click();
      await cashier.getByLabel('Cash counted').fill(String(counted));
      await cashier.getByText('-USh 10,000 (short)').waitFor();
      await cashier.getByRole('button', { name: 'Close shift' }).click();
      await cashier.getByRole('alert').filter({ hasText: 'a manager must approve' }).waitFor();
      const still = (await call('GET', `/api/shifts/${shiftId}`, { token: manager.token })).body;
      expect(still.status === 'open', 'refused without approval: the shift stays open');
      await cashier.getByLabel("Manager's PIN").fill('2468');
      await screen(cashier, 'pos-shift-close-approval');
      await cashier.getByRole('button', { name: 'Approve and close shift' }).click();
      await cashier.getByRole('heading', { name: 'Shift closed' }).waitFor();
      await screen(cashier, 'pos-shift-closed');
      const done = (await call('GET', `/api/shifts/${shiftId}`, { token: manager.token })).body;
      expect(done.status === 'closed' && done.variance === -10000 && done.variance_approved_by, `closed with an approved variance: ${JSON.stringify([done.status, done.variance, done.variance_approved_by])}`);
      await cashier.getByRole('button', { name: 'Done' }).click();
      // The queue's finished entries are cleared so the offline step below counts only its own.
      await cashier.getByRole('button', { name: 'Offline queue' }).click();
      await cashier.getByRole('button', { name: 'Clear sent' }).click();
      await cashier.getByText('Nothing queued.').waitFor();
      await cashier.getByRole('button', { name: 'Floor' }).click();
    });

    // ---- offline ----
    await step('offline: two orders taken, the page reloads offline and opens, replay makes exactly two', async () => {
      await cashier.waitForFunction(() => navigator.serviceWorker?.controller != null, null, { timeout: 30_000 });
      const before = await call('GET', '/api/orders?limit=500', { token: manager.token });
      const known = new Set(before.body.map((o) => o.id));
      await pos.setOffline(true);
      await cashier.getByRole('status').filter({ hasText: 'Offline' }).waitFor({ timeout: TIMEOUT });
      for (const table of ['T2', 'T3']) {
        await cashier.getByRole('button', { name: new RegExp(`^Table ${table} Free`) }).click();
        await cashier.getByRole('group', { name: 'Categories' }).getByRole('button', { name: 'Drinks' }).click();
        await cashier.getByRole('button', { name: /^Local Beer /i }).click();
        await cashier.getByRole('button', { name: 'Send to kitchen/bar' }).click();
        await cashier.getByRole('status').filter({ hasText: `Offline: Table ${table} is queued` }).waitFor({ timeout: TIMEOUT });
      }
      await cashier.getByRole('button', { name: '4 queued' }).waitFor({ timeout: TIMEOUT });
      await cashier.reload();
      await cashier.getByRole('heading', { name: 'Tables' }).waitFor({ timeout: TIMEOUT });
      await cashier.getByRole('button', { name: /^Table T2 Free order Queued/ }).waitFor({ timeout: TIMEOUT });
      await cashier.getByRole('button', { name: '4 queued' }).click();
      await cashier.getByRole('list', { name: 'Queued changes' }).getByText('Waiting for the network').first().waitFor({ timeout: TIMEOUT });
      await screen(cashier, 'pos-offline-queue');
      const during = await call('GET', '/api/orders?limit=500', { token: manager.token });
      expect(during.body.length === before.body.length, 'nothing reached the server while offline');
      await pos.setOffline(false);
      await cashier.getByRole('list', { name: 'Queued changes' }).getByText('Sent').nth(3).waitFor({ timeout: 20_000 });
      expect((await cashier.getByText('Waiting for the network').count()) === 0, 'every entry was sent');
      // Give a duplicate replay (if there were one) a chance to land before counting.
      await cashier.waitForTimeout(1500);
      const after = await call('GET', '/api/orders?limit=500', { token: manager.token });
      const fresh = after.body.filter((o) => !known.has(o.id));
      expect(fresh.length === 2, `exactly two new orders on the server, found ${fresh.length}`);
      expect(fresh.every((o) => o.status === 'sent' && o.items.length === 1), `both sent with one item: ${JSON.stringify(fresh.map((o) => [o.status, o.items.length]))}`);
      log(`offline orders #${fresh.map((o) => o.number).join(', #')} arrived once each`);
    });
    await step('a change refused on replay (stale version) is shown, held with its send, and retried', async () => {
      const menu = await call('GET', '/api/menu', { token: manager.token });
      const product = (name) => menu.body.categories.flatMap((c) => c.products).find((p) => p.name === name).id;
      const tables = await call('GET', '/api/tables', { token: manager.token });
      const t5 = tables.body.find((t) => t.code === 'T5').id;
      const made = await call('POST', '/api/orders', {
        token: manager.token, key: 'e2e-t5-create',
        body: { type: 'dine_in', table_id: t5, items: [{ product_id: product('Chicken Wings'), quantity: 1 }] },
      });
      expect(made.status === 201, `create at T5: ${made.status} ${JSON.stringify(made.body)}`);
      await cashier.getByRole('button', { name: 'Floor' }).click();
      await cashier.getByRole('button', { name: new RegExp(`^Table T5 Occupied order #${made.body.number} `) }).click();
      await cashier.getByRole('heading', { name: new RegExp(`^Table T5`) }).waitFor();
      await pos.setOffline(true);
      await cashier.getByRole('group', { name: 'Categories' }).getByRole('button', { name: 'Drinks' }).click();
      await cashier.getByRole('button', { name: /^Local Beer /i }).click();
      await cashier.getByRole('button', { name: 'Send to kitchen/bar' }).click();
      await cashier.getByRole('status').filter({ hasText: 'Offline: Table T5 is queued' }).waitFor();
      // Meanwhile a colleague changes the order.
      const other = await call('POST', `/api/orders/${made.body.id}/items`, {
        token: manager.token, key: 'e2e-t5-add', body: { items: [{ product_id: product('French Fries Plate'), quantity: 1 }] },
      });
      expect(other.status === 200, `colleague's add: ${other.status} ${JSON.stringify(other.body)}`);
      await pos.setOffline(false);
      await cashier.getByRole('button', { name: '2 need attention' }).click();
      const entry = cashier.getByRole('listitem').filter({ hasText: 'Add 1 item to Table T5' });
      await entry.getByRole('alert').waitFor();
      await cashier.getByRole('listitem').filter({ hasText: 'Send Table T5 to kitchen/bar' }).getByText('Refused: needs you').waitFor();
      await screen(cashier, 'pos-queue-conflict');
      let order = await call('GET', `/api/orders/${made.body.id}`, { token: manager.token });
      expect(order.body.items.length === 2 && order.body.status === 'open', `nothing of the refused change landed: ${order.body.items.length} items, ${order.body.status}`);
      await cashier.getByRole('button', { name: 'Try again: Add 1 item to Table T5' }).click();
      await entry.getByText('Sent', { exact: true }).waitFor();
      await cashier.getByRole('listitem').filter({ hasText: 'Send Table T5 to kitchen/bar' }).getByText('Sent', { exact: true }).waitFor();
      order = await call('GET', `/api/orders/${made.body.id}`, { token: manager.token });
      const names = order.body.items.map((i) => i.name).sort();
      expect(JSON.stringify(names) === JSON.stringify(['Chicken Wings', 'French Fries Plate', 'Local Beer']), `items after retry: ${names}`);
      expect(order.body.status === 'sent', `sent after retry: ${order.body.status}`);
    });

    await step('the kitchen screen shows it is reconnecting during an outage and catches up after', async () => {
      await kitchenCtx.setOffline(true);
      await kitchen.getByRole('alert').filter({ hasText: 'Reconnecting' }).waitFor();
      await screen(kitchen, 'kds-reconnecting');
      const menu = await call('GET', '/api/menu', { token: manager.token });
      const fries = menu.body.categories.flatMap((c) => c.products).find((p) => p.name === 'French Fries Plate').id;
      const made = await call('POST', '/api/orders', {
        token: manager.token, key: 'e2e-takeaway', body: { type: 'takeaway', items: [{ product_id: fries, quantity: 3 }] },
      });
      const sent = await call('POST', `/api/orders/${made.body.id}/send`, { token: manager.token, key: 'e2e-takeaway-send' });
      expect(sent.status === 200, `send: ${sent.status}`);
      // It resumes after the last event it saw, so the missed order.sent is replayed from the log.
      const resumed = kitchen.waitForRequest((r) => /\/api\/realtime\/stream\?.*since=\d+/.test(r.url()));
      await kitchenCtx.setOffline(false);
      await resumed;
      await kitchen.getByRole('article', { name: `Ticket ${made.body.number}` }).waitFor({ timeout: 20_000 });
      await kitchen.getByRole('alert').filter({ hasText: 'Reconnecting' }).waitFor({ state: 'detached' });
    });

    await step('a locked account shows how long the lock lasts', async () => {
      const ctx = await newContext(tablet);
      const page = await ctx.newPage();
      await page.goto(BASE + '/');
      await page.getByRole('button', { name: 'Password' }).click();
      await page.getByLabel('Username').fill('gift');
      const locked = page.getByRole('alert').filter({ hasText: 'Locked' });
      for (let i = 0; i < 6 && !(await locked.count()); i++) {
        await page.getByLabel('Password').fill(`wrong-${i}`);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').waitFor();
        // The answer is in when the button is usable again or the lock is shown.
        while ((await page.getByRole('button', { name: 'Sign in' }).isDisabled()) && !(await locked.count())) await page.waitForTimeout(50);
      }
      await page.getByRole('alert').filter({ hasText: /Try again in 1[45] min/ }).waitFor();
      await screen(page, 'login-locked');
      await ctx.close();
    });
  }
} catch {
  // recorded in failures
} finally {
  await browser.close();
}

if (failures.length) {
  console.error(`\n${failures.length} e2e failure(s):\n${failures.join('\n\n')}`);
  process.exit(1);
}
log('all e2e checks passed');
