// The product grid with 20,000 products (a benchmark, not a test): against a running
// `pos serve` (POS_URL), the app's GET /api/menu is answered by Playwright with the real
// menu padded to BENCH_PRODUCTS products (default 20,000) in its first category, so what is
// timed is the browser side: a cold load of /pos until the floor is interactive, opening the
// order screen until the first tile shows, and a search keystroke until the next paint
// (filter over every product + render). Prints the number of tile buttons in the DOM.
// Usage: POS_URL=http://127.0.0.1:PORT POS_USER=phiona POS_PASSWORD=… node e2e/bench-grid.mjs [runs]
import { chromium } from 'playwright-core';

const BASE = process.env.POS_URL ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.argv[2] ?? 5);
const COUNT = Number(process.env.BENCH_PRODUCTS ?? 20_000);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results = { load: [], open: [], search: [], clear: [] };
let tiles = 0;
let body;
let last; // the name of the menu's last product: the search looks for it

/** The real menu with its first category padded to COUNT products. */
async function paddedMenu(context) {
  const menu = await (await context.request.get(`${BASE}/api/menu`)).json();
  const first = menu.categories[0];
  const model = first.products[0];
  const have = menu.categories.reduce((n, c) => n + c.products.length, 0);
  for (let n = have; n < COUNT; n++) {
    first.products.push({
      ...model, id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, sku: `BENCH-${n}`, name: `Bench product ${n}`, sort_order: 1000 + n,
    });
  }
  const all = menu.categories.flatMap((c) => c.products);
  last = all[all.length - 1].name;
  return JSON.stringify(menu);
}
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  const login = await context.request.post(`${BASE}/api/auth/login`, {
    data: { username: process.env.POS_USER ?? 'phiona', password: process.env.POS_PASSWORD ?? 'a-new-long-password-1' },
  });
  if (!login.ok()) throw new Error(`login: ${login.status()} ${await login.text()}`);
  const me = await login.json();
  const page = await context.newPage();
  // Built once, answered from memory: what is timed is the browser's work, not this script's.
  body ??= await paddedMenu(context);
  await page.route('**/api/menu', (route) => route.fulfill({ status: 200, contentType: 'application/json', body }));
  await page.addInitScript((m) => localStorage.setItem('pos.me', JSON.stringify(m)), {
    staff: me.staff, expires_at: me.expires_at, terminal: null, must_change_password: false,
  });
  await page.goto(`${BASE}/pos`, { waitUntil: 'commit' });
  const button = page.getByRole('button', { name: 'New takeaway' });
  await button.waitFor();
  while (!(await button.isEnabled())) await page.waitForTimeout(5);
  await page.waitForFunction(() => performance.getEntriesByName('pos-interactive').length > 0);
  await page.waitForFunction(() => performance.getEntriesByName('pos-interactive').length > 0);
  results.load.push(await page.evaluate(() => performance.getEntriesByName('pos-interactive')[0].startTime));

  const t0 = await page.evaluate(() => performance.now());
  await button.click();
  await page.getByRole('group', { name: 'Products' }).getByRole('button').first().waitFor();
  results.open.push((await page.evaluate(() => performance.now())) - t0);
  tiles = Math.max(tiles, await page.getByRole('group', { name: 'Products' }).getByRole('button').count());

  // One keystroke's worth: the input event, Preact's render, then the next frame painted.
  const keystroke = (value) =>
    page.evaluate(async (v) => {
      const input = document.querySelector('input[type=search]');
      const t = performance.now();
      input.value = v;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t;
    }, value);
  results.search.push(await keystroke(last.toLowerCase()));
  await page.getByRole('group', { name: 'Products' }).getByRole('button', { name: last }).first().waitFor();
  results.clear.push(await keystroke(''));
  tiles = Math.max(tiles, await page.getByRole('group', { name: 'Products' }).getByRole('button').count());
  await context.close();
}
await browser.close();
const stat = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`;
};
console.log(`menu of ${COUNT} products (${(body.length / 1024).toFixed(0)} KiB JSON), ${RUNS} cold loads`);
console.log(`/pos interactive: ${stat(results.load)}`);
console.log(`order screen to first tile: ${stat(results.open)}`);
console.log(`search keystroke to next frame: ${stat(results.search)}; clearing it: ${stat(results.clear)}`);
console.log(`product buttons in the DOM at most: ${tiles}`);
