// Issue 13, courses (run by e2e/run.mjs with its helpers and signed-in pages): a waiter
// orders a starter as course 1 and a main as course 2 at T6 and sends; the kitchen shows the
// main under the ticket as held (not bumpable); the waiter fires course 2 from the order
// screen (through the offline queue, with its Idempotency-Key); the kitchen shows it to
// make. Roles and accessible names only; axe-core and screenshots via `screen`.
export async function courses({ BASE, cashier, kitchen, manager, call, step, screen, expect, log, TIMEOUT }) {
  let number;
  let orderId;
  await step('courses: the waiter orders a starter (course 1) and a main (course 2) at T6, sends', async () => {
    await cashier.getByRole('button', { name: 'Floor' }).click();
    await cashier.getByRole('button', { name: /^Table T6 Free/ }).click();
    const courses = cashier.getByRole('group', { name: 'Course for new items' });
    const search = cashier.getByRole('searchbox', { name: 'Search the menu' });
    await courses.getByRole('button', { name: 'Course 1' }).click();
    await search.fill('samosa');
    await cashier.getByRole('button', { name: /^Chicken Samosa Pair /i }).click();
    await courses.getByRole('button', { name: 'Course 2' }).click();
    await search.fill('goat');
    await cashier.getByRole('button', { name: /^Goat \(½ kg\) /i }).click();
    const items = cashier.getByRole('list', { name: 'Items' });
    await items.getByRole('listitem').filter({ hasText: 'Goat' }).filter({ hasText: 'Course 2' }).waitFor();
    await items.getByRole('listitem').filter({ hasText: 'Chicken Samosa Pair' }).filter({ hasText: 'Course 1' }).waitFor();
    await cashier.getByRole('button', { name: 'Send to kitchen/bar' }).click();
    const toast = cashier.getByRole('status').filter({ hasText: /Order #\d+ sent/ });
    await toast.waitFor({ timeout: TIMEOUT });
    number = Number((await toast.textContent()).match(/#(\d+)/)[1]);
    const list = await call('GET', '/api/orders?status=sent', { token: manager.token });
    const order = list.body.find((o) => o.number === number);
    expect(order, `order #${number} on the server`);
    orderId = order.id;
    const status = Object.fromEntries(order.items.map((i) => [i.name, i.status]));
    expect(status['Chicken Samosa Pair'] === 'sent' && status['Goat (½ kg)'] === 'held', `starter sent, main held: ${JSON.stringify(status)}`);
    log(`order #${number}: course 2 held`);
  });

  await step('courses: the kitchen shows the main as held under the ticket, with nothing to bump', async () => {
    const ticket = kitchen.getByRole('article', { name: `Ticket ${number}` });
    await ticket.waitFor({ timeout: TIMEOUT });
    await ticket.getByRole('button', { name: /^Bump 1× Chicken Samosa Pair .*New/ }).waitFor();
    const held = ticket.getByRole('region', { name: 'Course 2 — held' });
    await held.getByText('Goat (½ kg)').waitFor();
    expect((await ticket.getByRole('button', { name: /Goat/ }).count()) === 0, 'the held main is not bumpable');
    await screen(kitchen, 'kds-course-held');
  });

  await step('courses: the waiter fires course 2; the kitchen shows it to make', async () => {
    await cashier.getByRole('button', { name: new RegExp(`^Table T6 Occupied order #${number} `) }).click();
    const held = cashier.getByRole('list', { name: 'Held courses' });
    await held.getByText('Course 2 — held').waitFor();
    await screen(cashier, 'pos-course-held');
    await cashier.getByRole('button', { name: 'Fire course 2' }).click();
    await cashier.getByRole('status').filter({ hasText: 'Course 2 fired' }).waitFor();
    await held.waitFor({ state: 'detached' });
    const ticket = kitchen.getByRole('article', { name: `Ticket ${number}` });
    await ticket.getByRole('button', { name: /^Bump 1× Goat \(½ kg\) .*New/ }).waitFor({ timeout: TIMEOUT });
    await ticket.getByRole('region', { name: 'Course 2 — held' }).waitFor({ state: 'detached' });
    await screen(kitchen, 'kds-course-fired');
    const order = (await call('GET', `/api/orders/${orderId}`, { token: manager.token })).body;
    expect(order.items.every((i) => i.status === 'sent'), `both courses at the kitchen: ${order.items.map((i) => i.status)}`);
    // Out of the way of the later steps: the manager voids it.
    const v = await call('POST', `/api/orders/${orderId}/void`, {
      token: manager.token, key: `e2e-courses-void-${orderId}`, body: { reason: 'e2e courses done', expected_version: order.version },
    });
    expect(v.status === 200, `void: ${v.status} ${JSON.stringify(v.body)}`);
    await cashier.getByRole('button', { name: 'Back to floor' }).click();
    await cashier.getByRole('button', { name: /^Table T6 Free/ }).waitFor({ timeout: TIMEOUT });
  });
  void BASE;
}
