// The bill's discount, tip, receipt reprint, refund and Pesapal, driven like a cashier
// would (elements by role and accessible name). Two takeaway orders are made ready through
// the API first. Pesapal runs when E2E_PESAPAL_SIGNAL is set (crates/server/tests/web.rs
// wires the fake Pesapal and "pays" once this script writes that file).
import { writeFileSync } from 'node:fs';

export async function bill({ cashier, manager, call, step, screen, expect, log, TIMEOUT }) {
  const token = manager.token;
  const ugx = (n) => `USh ${n.toLocaleString('en-US')}`;
  const menu = await call('GET', '/api/menu', { token });
  const product = (name) => menu.body.categories.flatMap((c) => c.products).find((p) => p.name === name).id;
  const get = async (id) => (await call('GET', `/api/orders/${id}`, { token })).body;

  /** A takeaway order of drinks, sent and made ready by the bar. */
  async function readyTakeaway(tag, items) {
    const made = await call('POST', '/api/orders', { token, key: `e2e-${tag}-create`, body: { type: 'takeaway', items } });
    expect(made.status === 201, `create ${tag}: ${made.status} ${JSON.stringify(made.body)}`);
    const sent = await call('POST', `/api/orders/${made.body.id}/send`, { token, key: `e2e-${tag}-send` });
    expect(sent.status === 200, `send ${tag}: ${sent.status} ${JSON.stringify(sent.body)}`);
    let order = sent.body;
    for (let i = 0; i < 3 && order.items.some((it) => it.status !== 'ready'); i++) {
      const b = await call('POST', `/api/kds/orders/${order.id}/bump?station=bar`, { token, key: `e2e-${tag}-bump-${i}` });
      expect(b.status === 200, `bump ${tag}: ${b.status} ${JSON.stringify(b.body)}`);
      order = await get(order.id);
    }
    expect(order.items.every((it) => it.status === 'ready'), `${tag} ready: ${order.items.map((it) => it.status)}`);
    return order;
  }

  async function openBill(order) {
    await cashier.getByRole('button', { name: 'Open orders' }).click();
    await cashier.getByRole('button', { name: `Open order ${order.number}` }).click();
    await cashier.getByRole('button', { name: 'Bill', exact: true }).click();
    await cashier.getByRole('heading', { name: new RegExp(`^Bill · Takeaway #${order.number}`) }).waitFor();
  }

  const pay = cashier.getByRole('region', { name: 'Take a payment' });
  const summary = cashier.getByRole('region', { name: 'Bill summary' });

  await step('bill: an order discount above the cashier limit is approved with the manager\'s PIN; a cash tip; the receipt, a reprint and a refund', async () => {
    const order = await readyTakeaway('discount', [
      { product_id: product('Local Beer'), quantity: 2 },
      { product_id: product('Craft Beer'), quantity: 1 },
    ]);
    await openBill(order);

    // 20 % is above the seeded cashier limit (10 %): refused, then approved in the same request.
    await summary.getByRole('button', { name: 'Discount on the order' }).click();
    const dialog = cashier.getByRole('dialog', { name: `Discount on order #${order.number}` });
    await dialog.getByLabel('Discount in percent').fill('20');
    await dialog.getByLabel('Reason (optional)').fill('Regular guest');
    await dialog.getByRole('button', { name: 'Apply discount' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'A manager must approve this discount.' }).waitFor();
    expect((await get(order.id)).discount === 0, 'refused without approval: no discount on the server');
    await dialog.getByLabel("Manager's PIN").fill('2468');
    await screen(cashier, 'pos-bill-discount-approval');
    await dialog.getByRole('button', { name: 'Approve discount' }).click();
    await dialog.waitFor({ state: 'detached' });
    const discounted = await get(order.id);
    expect(discounted.discount * 5 === discounted.subtotal, `20 % off ${discounted.subtotal}: ${discounted.discount}`);
    expect(discounted.total < order.total, `total after the discount: ${discounted.total} of ${order.total}`);
    await summary.getByText(`−${ugx(discounted.discount)}`).waitFor();
    await summary.getByText(ugx(discounted.balance), { exact: true }).first().waitFor();

    // A tip of 2,000 on top, in cash: the change counts it.
    await pay.getByLabel(/^Tip/).fill('2,000');
    await pay.getByLabel('Cash handed over').fill(String(discounted.balance + 2000 + 3000));
    await pay.getByText('Change: USh 3,000').waitFor();
    await screen(cashier, 'pos-bill-discount-tip');
    await pay.getByRole('button', { name: `Take Cash · ${ugx(discounted.balance)} + tip USh 2,000` }).click();
    await pay.getByRole('status').filter({ hasText: `Order #${order.number} is paid and closed.` }).waitFor();
    await pay.getByRole('status').filter({ hasText: 'Change to give: USh 3,000' }).waitFor();
    const receipt = pay.getByLabel('Receipt text');
    await receipt.filter({ hasText: 'Tip (thank you)' }).waitFor();
    await receipt.filter({ hasText: '2,000' }).waitFor();
    const closed = await get(order.id);
    expect(closed.status === 'closed' && closed.paid === discounted.total, `closed, the tip apart from the bill: paid ${closed.paid} of ${discounted.total}`);

    // A copy of the receipt for the printer.
    await pay.getByRole('button', { name: 'Reprint receipt' }).click();
    await pay.getByRole('status').filter({ hasText: /^A copy of receipt no\. \d+ is queued for the receipt printer\.$/ }).waitFor();
    const jobs = await call('GET', '/api/print-jobs?printer=receipt&limit=100', { token });
    expect(jobs.status === 200, `print jobs: ${jobs.status}`);
    const receipts = jobs.body.filter((j) => j.order_id === order.id);
    expect(receipts.length === 2, `the original and one copy are queued: ${receipts.length}`);

    // A part refund of the cash payment, approved by the manager's PIN.
    await pay.getByRole('button', { name: `Refund Cash ${ugx(discounted.balance)}` }).click();
    const refund = cashier.getByRole('dialog', { name: `Refund Cash ${ugx(discounted.balance)}` });
    await refund.getByLabel('Refund amount').fill('5,000');
    await refund.getByLabel('Refund reason').fill('One beer was flat');
    await refund.getByLabel("Manager's PIN").fill('2468');
    await screen(cashier, 'pos-bill-refund');
    await refund.getByRole('button', { name: 'Refund USh 5,000' }).click();
    await refund.waitFor({ state: 'detached' });
    await pay.getByRole('status').filter({ hasText: 'Refunded USh 5,000 of the Cash payment.' }).waitFor();
    await pay.getByText(/refunded USh 5,000/).waitFor();
    const refunded = await get(order.id);
    expect(refunded.status === 'closed' && refunded.paid === discounted.total - 5000, `paid after the refund: ${refunded.paid}`);
    await pay.getByRole('button', { name: 'Back to the floor' }).click();
    log(`order #${order.number}: 20 % off approved, tip, reprint, refund`);
  });

  const signal = process.env.E2E_PESAPAL_SIGNAL;
  if (!signal) {
    log('Pesapal skipped: no fake Pesapal (E2E_PESAPAL_SIGNAL unset)');
    return;
  }
  await step('bill: Pesapal shows a QR code of the payment page and turns to paid on payment.completed', async () => {
    const order = await readyTakeaway('pesapal', [{ product_id: product('Local Beer'), quantity: 1 }]);
    await openBill(order);
    await pay.getByRole('button', { name: 'Pesapal', exact: true }).click();
    await pay.getByLabel('Customer’s phone or email').fill('+256700000001');
    await pay.getByRole('button', { name: `Take Pesapal · ${ugx(order.balance)}` }).click();
    const panel = cashier.getByRole('region', { name: 'Pesapal payment' });
    await panel.getByRole('img', { name: `QR code of the Pesapal payment page for ${ugx(order.balance)}` }).waitFor();
    const href = await panel.getByRole('link', { name: 'Open the Pesapal payment page' }).getAttribute('href');
    expect(/^https?:\/\//.test(href ?? ''), `the payment page link: ${href}`);
    // Subscribed: from here no event for the payment can be missed.
    await panel.getByRole('status').filter({ hasText: 'Waiting for the customer to pay with Pesapal…' }).waitFor();
    await screen(cashier, 'pos-bill-pesapal');
    expect((await get(order.id)).status !== 'closed', 'not paid before the customer pays');
    writeFileSync(signal, 'pay');
    await panel.getByRole('status').filter({ hasText: `Paid: Pesapal confirmed ${ugx(order.balance)}.` }).waitFor({ timeout: 20_000 });
    await pay.getByRole('status').filter({ hasText: `Order #${order.number} is paid and closed.` }).waitFor({ timeout: TIMEOUT });
    await screen(cashier, 'pos-bill-pesapal-paid');
    const closed = await get(order.id);
    expect(closed.status === 'closed' && closed.paid === order.total, `paid online: ${closed.status} ${closed.paid}/${closed.total}`);
    await pay.getByRole('button', { name: 'Back to the floor' }).click();
    log(`order #${order.number} paid through Pesapal`);
  });
}
