import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { IdbQueueStore, enqueue, localId, replay, retryConflict, discard, type Answer, type Sender } from './queue';

/** A server that honours Idempotency-Key like the real one: a key seen before answers the
 * stored response again without a second effect. */
class FakeServer {
  online = true;
  /** Drop the answer after the effect happened (the connection dies mid-response). */
  loseNextAnswer = false;
  orders: { id: string; items: unknown[]; sent: boolean; version: number }[] = [];
  answers = new Map<string, Answer>();
  refuse?: (method: string, path: string, body: unknown) => Answer | undefined;

  send: Sender = async (method, path, body, key) => {
    if (!this.online) throw new TypeError('Failed to fetch');
    const stored = this.answers.get(key);
    if (stored) return stored;
    const answer = this.refuse?.(method, path, body) ?? this.apply(method, path, body);
    this.answers.set(key, answer);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new TypeError('network changed');
    }
    return answer;
  };

  private apply(method: string, path: string, body: unknown): Answer {
    if (method === 'POST' && path === '/api/orders') {
      const order = { id: `srv-${this.orders.length + 1}`, items: (body as { items: unknown[] }).items, sent: false, version: 1 };
      this.orders.push(order);
      return { status: 201, body: order };
    }
    const add = path.match(/^\/api\/orders\/([^/]+)\/items$/);
    const target = add && this.orders.find((o) => o.id === add[1]);
    if (target) {
      target.items.push(...(body as { items: unknown[] }).items);
      target.version++;
      return { status: 200, body: target };
    }
    const m = path.match(/^\/api\/orders\/([^/]+)\/send$/);
    const order = m && this.orders.find((o) => o.id === m[1]);
    if (order) {
      order.sent = true;
      return { status: 200, body: order };
    }
    return { status: 404, body: { code: 'not_found', detail: `no ${path}` } };
  }
}

let store: IdbQueueStore;
let server: FakeServer;
let dbCount = 0;

beforeEach(() => {
  store = new IdbQueueStore(`test-${++dbCount}`);
  server = new FakeServer();
});

async function takeOrder(items: number) {
  const local = localId();
  await enqueue(store, [
    { label: 'New order', method: 'POST', path: '/api/orders', body: { type: 'takeaway', items: Array(items).fill({ quantity: 1 }) }, creates: local },
    { label: 'Send', method: 'POST', path: `/api/orders/${local}/send`, body: {} },
  ]);
  return local;
}

describe('offline queue', () => {
  it('keeps entries while offline and replays them once, in order, when back', async () => {
    server.online = false;
    await takeOrder(2);
    await takeOrder(1);
    const offline = await replay(store, server.send);
    expect(offline.reachable).toBe(false);
    expect((await store.all()).map((e) => e.state)).toEqual(['queued', 'queued', 'queued', 'queued']);
    expect(server.orders).toHaveLength(0);

    server.online = true;
    const back = await replay(store, server.send);
    expect(back).toEqual({ reachable: true, sent: 4, conflicts: 0 });
    expect(server.orders).toHaveLength(2);
    expect(server.orders.every((o) => o.sent)).toBe(true);
    // The send entries were rewritten to the server's ids.
    const sends = (await store.all()).filter((e) => e.path.endsWith('/send'));
    expect(sends.map((e) => e.path)).toEqual(['/api/orders/srv-1/send', '/api/orders/srv-2/send']);

    // A further replay has nothing left to do.
    expect((await replay(store, server.send)).sent).toBe(0);
    expect(server.orders).toHaveLength(2);
  });

  it('a lost answer is retried with the same key and never makes a second order', async () => {
    await takeOrder(1);
    server.loseNextAnswer = true;
    const first = await replay(store, server.send);
    expect(first.reachable).toBe(false);
    expect(server.orders).toHaveLength(1);
    const entries = await store.all();
    expect(entries[0].state).toBe('queued');

    await replay(store, server.send);
    expect(server.orders).toHaveLength(1);
    expect(server.orders[0].sent).toBe(true);
    expect(new Set([...server.answers.keys()]).size).toBe(2);
  });

  it('an entry left "sending" by a reload is resent with its key', async () => {
    await takeOrder(1);
    const [create] = await store.all();
    await server.send(create.method, create.path, create.body, create.idempotencyKey);
    await store.put({ ...create, state: 'sending' });
    await replay(store, server.send);
    expect(server.orders).toHaveLength(1);
  });

  it('a refusal becomes a conflict the cashier sees; what depends on it is held, not dropped', async () => {
    server.refuse = (method, path) =>
      method === 'POST' && path === '/api/orders'
        ? { status: 409, body: { code: 'product_unavailable', title: 'Sold out', detail: 'Rolex is 86\'d' } }
        : undefined;
    await takeOrder(1);
    const outcome = await replay(store, server.send);
    expect(outcome.conflicts).toBe(2);
    const [create, send] = await store.all();
    expect(create.state).toBe('conflict');
    expect(create.problem).toMatchObject({ status: 409, code: 'product_unavailable', detail: "Rolex is 86'd" });
    expect(send.state).toBe('conflict');
    expect(send.problem?.code).toBe('depends_on_refused');

    // The item is back: the cashier retries; a new key, and the held send follows.
    server.refuse = undefined;
    const oldKey = create.idempotencyKey;
    await retryConflict(store, create.id);
    const retried = (await store.all())[0];
    expect(retried.idempotencyKey).not.toBe(oldKey);
    expect((await replay(store, server.send)).sent).toBe(2);
    expect(server.orders).toHaveLength(1);
    expect(server.orders[0].sent).toBe(true);
  });

  it('a refused add holds the send queued with it, and both go on retry', async () => {
    server.orders.push({ id: 'o1', items: [], sent: false, version: 4 });
    server.refuse = (_m, path, body) =>
      path === '/api/orders/o1/items' && (body as { expected_version?: number }).expected_version === 3
        ? { status: 409, body: { code: 'stale_version', detail: 'The order changed meanwhile' } }
        : undefined;
    await enqueue(store, [
      { label: 'Add', method: 'POST', path: '/api/orders/o1/items', body: { items: [], expected_version: 3 } },
      { label: 'Send', method: 'POST', path: '/api/orders/o1/send', body: {} },
    ]);
    await replay(store, server.send);
    const [add, send] = await store.all();
    expect(add.state).toBe('conflict');
    expect(send.state).toBe('conflict');
    expect(send.problem?.code).toBe('depends_on_refused');
    expect(server.orders[0].sent).toBe(false);
    await retryConflict(store, add.id);
    expect((await replay(store, server.send)).sent).toBe(2);
    expect(server.orders[0].sent).toBe(true);
  });

  it('a stale version is retried without the version check; a dismissed conflict is gone', async () => {
    server.refuse = (_m, path, body) =>
      path === '/api/orders/x/items' && (body as { expected_version?: number }).expected_version
        ? { status: 409, body: { code: 'stale_version', detail: 'changed' } }
        : undefined;
    await enqueue(store, [{ label: 'Add', method: 'POST', path: '/api/orders/x/items', body: { items: [], expected_version: 3 } }]);
    await replay(store, server.send);
    const [entry] = await store.all();
    expect(entry.state).toBe('conflict');
    await retryConflict(store, entry.id);
    expect((await store.all())[0].body).toEqual({ items: [] });
    await discard(store, entry.id);
    expect(await store.all()).toHaveLength(0);
  });

  it('server errors keep the entry queued for later', async () => {
    server.refuse = () => ({ status: 503, body: { code: 'unavailable' } });
    await takeOrder(1);
    const outcome = await replay(store, server.send);
    expect(outcome.sent).toBe(0);
    expect((await store.all()).every((e) => e.state === 'queued')).toBe(true);
  });
});
