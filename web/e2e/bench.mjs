// Speed of the POS screen (a benchmark, not a test): cold loads of /pos from a running
// `pos serve` (POS_URL), each in a fresh browser context (empty HTTP cache, no service
// worker), timed from navigation start until the floor is interactive: the menu and the
// tables are loaded and "New takeaway" is enabled. Also the gzipped size of the JS the
// page loads. Usage: POS_URL=http://127.0.0.1:PORT POS_USER=phiona POS_PASSWORD=… node e2e/bench.mjs [runs]
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const BASE = process.env.POS_URL ?? 'http://127.0.0.1:3000';
const RUNS = Number(process.argv[2] ?? 10);

const assets = readdirSync('dist/assets').filter((f) => f.endsWith('.js'));
let gz = 0;
let raw = 0;
for (const f of assets) {
  const bytes = readFileSync(`dist/assets/${f}`);
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
console.log(`JS bundle: ${assets.length} files, ${(raw / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzipped`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const times = [];
let products = 0;
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  const login = await context.request.post(`${BASE}/api/auth/login`, {
    data: { username: process.env.POS_USER ?? 'phiona', password: process.env.POS_PASSWORD ?? 'a-new-long-password-1' },
  });
  if (!login.ok()) throw new Error(`login: ${login.status()} ${await login.text()}`);
  const me = await login.json();
  const page = await context.newPage();
  // The session the app would have stored at sign-in.
  await page.addInitScript((m) => localStorage.setItem('pos.me', JSON.stringify(m)), {
    staff: me.staff, expires_at: me.expires_at, terminal: null, must_change_password: false,
  });
  await page.goto(`${BASE}/pos`, { waitUntil: 'commit' });
  const button = page.getByRole('button', { name: 'New takeaway' });
  await button.waitFor();
  while (!(await button.isEnabled())) await page.waitForTimeout(5);
  // The mark is set just after the buttons enable; wait for it rather than race it.
  await page.waitForFunction(() => performance.getEntriesByName('pos-interactive').length > 0);
  const ms = await page.evaluate(() => performance.getEntriesByName('pos-interactive')[0].startTime);
  times.push(ms);
  if (!products) {
    products = await page.evaluate(() => JSON.parse(localStorage.getItem('pos.cache.menu')).categories.reduce((n, c) => n + c.products.length, 0));
  }
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);
const pick = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
console.log(`/pos interactive (menu of ${products} products), ${RUNS} cold loads: median ${pick(0.5).toFixed(0)} ms, p90 ${pick(0.9).toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms`);
