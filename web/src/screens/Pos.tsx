import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, problemText, type FloorTable, type Menu, type MenuProduct, type Order } from '../api/client';
import { Dialog } from '../components/Dialog';
import { ProductGrid } from '../components/ProductGrid';
import { StatusBar } from '../components/StatusBar';
import { recall, remember } from '../lib/cache';
import { formatMoney, lineTotal } from '../lib/money';
import { clearDone, discard, isLocalId, localId, retryConflict, type QueueEntry } from '../lib/queue';
import { flush, queueEntries, queueStore, refreshQueue, submit } from '../lib/outbox';
import { useStream } from '../lib/realtime';
import { navigate, useLocation } from '../lib/router';
import { session } from '../lib/session';
import { useStore } from '../lib/store';
import { fireCourseEntry, heldCourses } from '../lib/courses';
import { search, searchIndex } from '../lib/virtual';
import { BillScreen } from './Bill';
import { ShiftScreen, currentShift, loadShift } from './Shift';

export interface DraftLine {
  key: string;
  product: MenuProduct;
  quantity: number;
  modifiers: string[];
  notes: string;
  seat: number | null;
  course: number | null;
}

export function draftLineTotal(line: DraftLine): number {
  const prices = line.product.modifiers.filter((m) => line.modifiers.includes(m.id)).map((m) => m.price);
  return lineTotal(line.product.effective_price, prices, line.quantity);
}

export function itemsOf(lines: DraftLine[]) {
  return lines.map((l) => ({
    product_id: l.product.id,
    quantity: l.quantity,
    modifiers: l.modifiers,
    notes: l.notes.trim() || null,
    seat: l.seat,
    course: l.course,
  }));
}

const TABLE_STATE: Record<string, string> = { free: 'Free', occupied: 'Occupied', bill_requested: 'Bill requested' };
const ITEM_STATUS: Record<string, string> = {
  pending: 'Not sent', held: 'Held', sent: 'Sent', preparing: 'Preparing', ready: 'Ready', served: 'Served', voided: 'Voided',
};

function useMenuAndFloor() {
  const [menu, setMenu] = useState<Menu | null>(recall<Menu>('menu'));
  const [tables, setTables] = useState<FloorTable[]>(recall<FloorTable[]>('tables') ?? []);
  const loadTables = async () => {
    try {
      const { data } = await api.GET('/api/tables');
      if (data) {
        setTables(data);
        remember('tables', data);
      }
    } catch {
      // offline: keep the last floor
    }
  };
  const loadMenu = async () => {
    try {
      const { data } = await api.GET('/api/menu');
      if (data) {
        setMenu(data);
        remember('menu', data);
      }
    } catch {
      // offline: keep the last menu
    }
  };
  useEffect(() => {
    void loadMenu();
    void loadTables();
  }, []);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const pending = useRef({ menu: false, tables: false });
  useStream(
    {
      topics: 'tables,orders,menu',
      onEvent: (type) => {
        // Debounced, remembering what each event asked for, so a menu change followed by a
        // table event within the window still reloads the menu.
        if (type === 'menu.updated') pending.current.menu = true;
        else pending.current.tables = true;
        clearTimeout(timer.current);
        timer.current = setTimeout(() => {
          const { menu: m, tables: t } = pending.current;
          pending.current = { menu: false, tables: false };
          if (m) void loadMenu();
          if (t) void loadTables();
        }, 250);
      },
    },
    [],
  );
  return { menu, tables, loadTables };
}

export interface Ticket {
  tableId: string | null;
  tableCode: string | null;
  orderId: string | null;
  order: Order | null;
}

export function Pos() {
  const loc = useLocation();
  const params = new URLSearchParams(loc.search);
  const view = params.get('view') ?? 'floor';
  const { menu, tables, loadTables } = useMenuAndFloor();
  const [ticket, setTicket] = useState<Ticket | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const entries = useStore(queueEntries);
  const shift = useStore(currentShift);

  useEffect(() => {
    void loadShift();
  }, []);

  // A toast belongs to the floor it was shown on; it would cover the bill's and shift's buttons.
  useEffect(() => {
    if (view !== 'floor') setToast(null);
  }, [view]);

  useEffect(() => {
    // For the cold-load benchmark (web/e2e/bench.mjs): the floor can be used from here on.
    if (menu && tables.length && !performance.getEntriesByName('pos-interactive').length) performance.mark('pos-interactive');
  }, [menu, tables]);

  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(null), 6000);
    return () => clearTimeout(t);
  }, [toast]);

  const openTable = async (table: FloorTable) => {
    const open = table.orders[0];
    if (!open) {
      setTicket({ tableId: table.id, tableCode: table.code, orderId: null, order: null });
      navigate('/pos?view=order');
      return;
    }
    await openOrder(open.order_id, table);
  };

  const openOrder = async (orderId: string, table?: FloorTable) => {
    let order: Order | null = null;
    try {
      const { data } = await api.GET('/api/orders/{order_id}', { params: { path: { order_id: orderId } } });
      order = data ?? null;
    } catch {
      // offline: items can still be added; they queue against this order
    }
    const t = table ?? tables.find((x) => x.id === order?.table_id);
    setTicket({ tableId: t?.id ?? order?.table_id ?? null, tableCode: t?.code ?? null, orderId, order });
    navigate('/pos?view=order');
  };

  const takeaway = () => {
    setTicket({ tableId: null, tableCode: null, orderId: null, order: null });
    navigate('/pos?view=order');
  };

  const queuedTables = new Set(
    entries
      .filter((e) => e.state !== 'done' && e.creates)
      .map((e) => (e.body as { table_id?: string } | undefined)?.table_id)
      .filter(Boolean) as string[],
  );

  return (
    <div class="screen">
      <StatusBar title="POS">
        <button type="button" aria-current={view === 'floor' ? 'page' : undefined} onClick={() => navigate('/pos')}>
          Floor
        </button>
        <button type="button" aria-current={view === 'orders' ? 'page' : undefined} onClick={() => navigate('/pos?view=orders')}>
          Open orders
        </button>
        <button type="button" aria-current={view === 'queue' ? 'page' : undefined} onClick={() => navigate('/pos?view=queue')}>
          Offline queue
        </button>
        <button type="button" aria-current={view === 'shift' ? 'page' : undefined} onClick={() => navigate('/pos?view=shift')}>
          Shift
        </button>
      </StatusBar>
      {shift === null && view !== 'shift' && (
        <p class="banner" role="status">
          No shift open: payments need one.{' '}
          <button type="button" class="link" onClick={() => navigate('/pos?view=shift')}>
            Open a shift
          </button>
        </p>
      )}
      {toast && (
        <p class="toast" role="status">
          {toast}
        </p>
      )}
      {view === 'bill' && ticket?.orderId && !isLocalId(ticket.orderId) ? (
        <BillScreen
          orderId={ticket.orderId}
          tableCode={ticket.tableCode}
          onBack={() => void openOrder(ticket.orderId!)}
          onSettled={(message) => {
            setToast(message);
            setTicket(null);
            void loadTables();
            navigate('/pos');
          }}
        />
      ) : view === 'shift' ? (
        <ShiftScreen currency={menu?.currency ?? 'UGX'} />
      ) : view === 'order' && ticket && menu ? (
        <OrderScreen
          menu={menu}
          ticket={ticket}
          tables={tables}
          onDone={(message) => {
            setToast(message);
            setTicket(null);
            void loadTables();
            navigate('/pos');
          }}
        />
      ) : view === 'orders' ? (
        <OpenOrders tables={tables} onOpen={(id) => openOrder(id)} onChanged={loadTables} />
      ) : view === 'queue' ? (
        <QueueView />
      ) : (
        <Floor tables={tables} queued={queuedTables} onTable={openTable} onTakeaway={takeaway} loading={!menu} />
      )}
    </div>
  );
}

function Floor({
  tables, queued, onTable, onTakeaway, loading,
}: { tables: FloorTable[]; queued: Set<string>; onTable: (t: FloorTable) => void; onTakeaway: () => void; loading: boolean }) {
  const areas = useMemo(() => {
    const by = new Map<string, FloorTable[]>();
    for (const t of tables.filter((t) => t.active)) {
      const area = t.area ?? 'Floor';
      by.set(area, [...(by.get(area) ?? []), t]);
    }
    return [...by.entries()];
  }, [tables]);
  return (
    <main class="floor">
      <div class="floor-head">
        <h2>Tables</h2>
        <ul class="legend" aria-label="Legend">
          <li><span class="swatch free" /> Free</li>
          <li><span class="swatch occupied" /> Occupied</li>
          <li><span class="swatch bill_requested" /> Bill requested</li>
        </ul>
        <button type="button" class="primary" onClick={onTakeaway} disabled={loading}>
          New takeaway
        </button>
      </div>
      {loading && <p role="status">Loading the menu…</p>}
      {areas.map(([area, list]) => (
        <section key={area} aria-label={area}>
          {areas.length > 1 && <h3>{area}</h3>}
          <div class="tables">
            {list.map((t) => {
              const order = t.orders[0];
              return (
                <button type="button" key={t.id} class={`table ${t.state}`} onClick={() => onTable(t)} disabled={loading}>
                  <span class="table-code">
                    <span class="visually-hidden">Table </span>
                    {t.code}
                  </span>
                  <span class="table-state">
                    {TABLE_STATE[t.state]}
                  </span>
                  {order && (
                    <span class="table-order">
                      <span class="visually-hidden">order </span>#{order.number} · {formatMoney(order.total, order.currency)}
                    </span>
                  )}
                  {queued.has(t.id) && (
                    <span class="table-queued">
                      <span class="visually-hidden">order </span>Queued
                    </span>
                  )}
                  <span class="table-seats">
                    {t.seats} seats
                  </span>
                </button>
              );
            })}
          </div>
        </section>
      ))}
    </main>
  );
}

export { ProductTile } from '../components/ProductTile';

export function OrderScreen({ menu, ticket, tables, onDone }: { menu: Menu; ticket: Ticket; tables: FloorTable[]; onDone: (msg: string) => void }) {
  const [category, setCategory] = useState<string>(menu.categories[0]?.id ?? '');
  const [query, setQuery] = useState('');
  const [lines, setLines] = useState<DraftLine[]>([]);
  const [seat, setSeat] = useState<number | null>(null);
  const [course, setCourse] = useState<number | null>(null);
  const [picking, setPicking] = useState<MenuProduct | null>(null);
  const [editing, setEditing] = useState<DraftLine | null>(null);
  // The order as last answered by the server (firing a course answers it again).
  const [order, setOrder] = useState<Order | null>(ticket.order);
  const [firing, setFiring] = useState<Record<number, string>>({});
  const [notes, setNotes] = useState(order?.preparation_notes ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const currency = menu.currency;
  const table = tables.find((t) => t.id === ticket.tableId);

  // Built at the first search of a menu (not when the screen opens), then each keystroke
  // scans 20,000 short strings, well under a frame.
  const index = useRef<{ menu: Menu; entries: ReturnType<typeof searchIndex<MenuProduct>> } | null>(null);
  const products = useMemo(() => {
    if (query.trim()) {
      if (index.current?.menu !== menu) index.current = { menu, entries: searchIndex(menu.categories.flatMap((c) => c.products)) };
      return search(index.current.entries, query);
    }
    return menu.categories.find((c) => c.id === category)?.products ?? [];
  }, [menu, category, query]);

  const add = (product: MenuProduct, modifiers: string[] = [], lineNotes = '', quantity = 1, lineCourse = course) => {
    setLines((ls) => {
      const same = ls.find(
        (l) => l.product.id === product.id && l.seat === seat && l.course === lineCourse && !l.notes && !lineNotes && l.modifiers.join() === modifiers.join(),
      );
      if (same) return ls.map((l) => (l === same ? { ...l, quantity: l.quantity + quantity } : l));
      return [...ls, { key: localId(), product, quantity, modifiers, notes: lineNotes, seat, course: lineCourse }];
    });
  };

  const sent = order?.items.filter((i) => i.status !== 'voided') ?? [];
  const held = heldCourses(sent);

  // Through the offline queue like every order change: its key is kept for every replay,
  // so a fire whose answer was lost is never sent twice.
  const fire = async (course: number) => {
    if (!order) return;
    setError(null);
    setFiring((f) => ({ ...f, [course]: `Firing course ${course}…` }));
    const [entry] = await submit([fireCourseEntry(order.id, course, title)]);
    if (entry.state === 'done') {
      setOrder(entry.result as Order);
      setFiring((f) => ({ ...f, [course]: `Course ${course} fired: the kitchen/bar has it now.` }));
    } else if (entry.state === 'conflict') {
      setFiring(({ [course]: _, ...f }) => f);
      setError(`Course ${course} not fired: ${entry.problem?.detail ?? entry.problem?.title ?? 'refused'}. See the offline queue.`);
    } else {
      setFiring((f) => ({ ...f, [course]: `Offline: course ${course} will be fired when the network is back.` }));
    }
  };
  const draftTotal = lines.reduce((s, l) => s + draftLineTotal(l), 0);
  const total = (order?.total ?? 0) + draftTotal;
  const title = ticket.tableCode ? `Table ${ticket.tableCode}` : 'Takeaway';

  const send = async () => {
    if (!lines.length) return;
    setBusy(true);
    setError(null);
    const items = itemsOf(lines);
    const count = lines.reduce((s, l) => s + l.quantity, 0);
    let entries;
    if (!ticket.orderId) {
      const local = localId();
      entries = await submit([
        {
          label: `New order, ${title}: ${count} item${count === 1 ? '' : 's'}`,
          method: 'POST',
          path: '/api/orders',
          body: {
            type: ticket.tableId ? 'dine_in' : 'takeaway',
            table_id: ticket.tableId,
            preparation_notes: notes.trim() || null,
            items,
          },
          creates: local,
        },
        { label: `Send ${title} to kitchen/bar`, method: 'POST', path: `/api/orders/${local}/send`, body: {} },
      ]);
    } else {
      const id = ticket.orderId;
      const version = order?.version;
      entries = await submit([
        {
          label: `Add ${count} item${count === 1 ? '' : 's'} to ${title}`,
          method: 'POST',
          path: `/api/orders/${id}/items`,
          body: version && !isLocalId(id) ? { items, expected_version: version } : { items },
        },
        { label: `Send ${title} to kitchen/bar`, method: 'POST', path: `/api/orders/${id}/send`, body: {} },
      ]);
    }
    setBusy(false);
    const conflict = entries.find((e) => e.state === 'conflict');
    if (conflict) {
      setError(`Not sent: ${conflict.problem?.detail ?? conflict.problem?.title ?? 'refused'}. See the offline queue.`);
      return;
    }
    if (entries.every((e) => e.state === 'done')) {
      const number = (entries[entries.length - 1].result as Order | undefined)?.number;
      onDone(`Order #${number ?? ''} sent to kitchen/bar.`);
    } else {
      onDone(`Offline: ${title} is queued and will be sent when the network is back.`);
    }
  };

  return (
    <main class="order">
      <section class="menu-pane" aria-label="Menu">
        <div class="menu-tools">
          <label class="search">
            <span class="visually-hidden">Search the menu</span>
            <input type="search" placeholder="Search the menu" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          </label>
        </div>
        <div class="categories" role="group" aria-label="Categories">
          {menu.categories.map((c) => (
            <button
              type="button"
              key={c.id}
              aria-pressed={!query && c.id === category}
              onClick={() => {
                setQuery('');
                setCategory(c.id);
              }}
            >
              {c.name}
            </button>
          ))}
        </div>
        {menu.happy_hour.active && (
          <p class="hh-banner" role="status">
            Happy hour until {menu.happy_hour.end.slice(0, 5)}
          </p>
        )}
        <ProductGrid
          products={products}
          currency={currency}
          resetKey={`${category}\u0000${query}`}
          emptyText={`No product matches “${query}”.`}
          onPick={(p) => (p.modifiers.length ? setPicking(p) : add(p))}
        />
      </section>

      <section class="ticket-pane" aria-label={`Order for ${title}`}>
        <div class="ticket-head">
          <h2>
            {title}
            {order && <span class="muted"> · #{order.number}</span>}
          </h2>
          <button type="button" onClick={() => navigate('/pos')}>
            Back to floor
          </button>
        </div>
        <div class="pickers">
          <div role="group" aria-label="Seat for new items">
            <span aria-hidden="true">Seat</span>
            <button type="button" aria-pressed={seat === null} onClick={() => setSeat(null)}>
              All
            </button>
            {Array.from({ length: Math.min(table?.seats ?? 4, 8) }, (_, i) => i + 1).map((n) => (
              <button type="button" key={n} aria-label={`Seat ${n}`} aria-pressed={seat === n} onClick={() => setSeat(n)}>
                {n}
              </button>
            ))}
          </div>
          <div role="group" aria-label="Course for new items">
            <span aria-hidden="true">Course</span>
            <button type="button" aria-pressed={course === null} onClick={() => setCourse(null)}>
              Now
            </button>
            {COURSES.map((n) => (
              <button type="button" key={n} aria-label={`Course ${n}`} aria-pressed={course === n} onClick={() => setCourse(course === n ? null : n)}>
                {n}
              </button>
            ))}
          </div>
        </div>
        <ul class="lines" aria-label="Items">
          {sent.map((i) => (
            <li key={i.id} class="line sent">
              <span class="qty">{i.quantity}×</span>
              <span class="line-name">
                {i.name}
                {i.modifiers.length > 0 && <small>{i.modifiers.map((m) => m.name).join(', ')}</small>}
                {i.notes && <small>“{i.notes}”</small>}
              </span>
              <span class="line-meta">
                {i.seat && `Seat ${i.seat} `}
                {i.course && `Course ${i.course}`}
              </span>
              <span class={`status ${i.status}`}>{ITEM_STATUS[i.status]}</span>
              <span class="money">{formatMoney(i.total, currency)}</span>
            </li>
          ))}
          {lines.map((l) => (
            <li key={l.key} class="line draft">
              <span class="qty">{l.quantity}×</span>
              <span class="line-name">
                {l.product.name}
                {l.modifiers.length > 0 && (
                  <small>{l.product.modifiers.filter((m) => l.modifiers.includes(m.id)).map((m) => m.name).join(', ')}</small>
                )}
                {l.notes && <small>“{l.notes}”</small>}
              </span>
              <span class="line-meta">
                {l.seat && `Seat ${l.seat} `}
                {l.course && `Course ${l.course}`}
              </span>
              <span class="line-actions">
                <button type="button" aria-label={`One fewer ${l.product.name}`} onClick={() => setLines((ls) => ls.flatMap((x) => (x === l ? (x.quantity > 1 ? [{ ...x, quantity: x.quantity - 1 }] : []) : [x])))}>
                  −
                </button>
                <button type="button" aria-label={`One more ${l.product.name}`} onClick={() => setLines((ls) => ls.map((x) => (x === l ? { ...x, quantity: x.quantity + 1 } : x)))}>
                  +
                </button>
                <button type="button" aria-label={`Edit ${l.product.name}`} onClick={() => setEditing(l)}>
                  ✎
                </button>
              </span>
              <span class="money">{formatMoney(draftLineTotal(l), currency)}</span>
            </li>
          ))}
          {!sent.length && !lines.length && <li class="empty">Tap products to add them.</li>}
        </ul>
        {held.length > 0 && (
          <ul class="held-courses" aria-label="Held courses">
            {held.map((h) => (
              <li key={h.course} class="held-course">
                <span class="held-title">Course {h.course} — held</span>
                <span class="held-items">{h.items.map((i) => `${i.quantity}× ${i.name}`).join(', ')}</span>
                <button
                  type="button"
                  class="primary"
                  disabled={!!firing[h.course] || isLocalId(order?.id)}
                  onClick={() => void fire(h.course)}
                >
                  Fire course {h.course}
                </button>
              </li>
            ))}
          </ul>
        )}
        {Object.entries(firing).map(([c, text]) => (
          <p key={c} class="fired" role="status">
            {text}
          </p>
        ))}
        <label class="notes">
          Notes for the kitchen
          <textarea rows={2} value={notes} maxLength={500} onInput={(e) => setNotes(e.currentTarget.value)} disabled={!!ticket.orderId} />
        </label>
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        <div class="ticket-foot">
          <p class="total">
            <span>Total</span> <strong>{formatMoney(total, currency)}</strong>
          </p>
          <div class="foot-actions">
            <button
              type="button"
              class="big"
              disabled={!order || !!lines.length || isLocalId(ticket.orderId)}
              title={lines.length ? 'Send the new items first' : undefined}
              onClick={() => navigate('/pos?view=bill')}
            >
              Bill
            </button>
            <button type="button" class="primary big" disabled={!lines.length || busy} onClick={send}>
              Send to kitchen/bar
            </button>
          </div>
        </div>
      </section>

      {picking && (
        <ItemDialog
          product={picking}
          currency={currency}
          course={course}
          onClose={() => setPicking(null)}
          onAdd={(mods, n, q, c) => {
            add(picking, mods, n, q, c);
            setPicking(null);
          }}
        />
      )}
      {editing && (
        <ItemDialog
          product={editing.product}
          currency={currency}
          initial={editing}
          course={editing.course}
          onClose={() => setEditing(null)}
          onRemove={() => {
            setLines((ls) => ls.filter((x) => x !== editing));
            setEditing(null);
          }}
          onAdd={(mods, n, q, c) => {
            setLines((ls) => ls.map((x) => (x === editing ? { ...x, modifiers: mods, notes: n, quantity: q, course: c } : x)));
            setEditing(null);
          }}
        />
      )}
    </main>
  );
}

/** The courses a line can be put in ("Now" is none: it goes with the first course). */
export const COURSES = [1, 2, 3];

export function ItemDialog({
  product, currency, initial, course: initialCourse, onAdd, onClose, onRemove,
}: {
  product: MenuProduct;
  currency: string;
  initial?: DraftLine;
  course: number | null;
  onAdd: (modifiers: string[], notes: string, quantity: number, course: number | null) => void;
  onClose: () => void;
  onRemove?: () => void;
}) {
  const [mods, setMods] = useState<string[]>(initial?.modifiers ?? []);
  const [notes, setNotes] = useState(initial?.notes ?? '');
  const [qty, setQty] = useState(initial?.quantity ?? 1);
  const [course, setCourse] = useState<number | null>(initialCourse);
  const prices = product.modifiers.filter((m) => mods.includes(m.id)).map((m) => m.price);
  return (
    <Dialog title={product.name} onClose={onClose}>
      {product.modifiers.length > 0 && (
        <fieldset class="mods">
          <legend>Options</legend>
          {product.modifiers.map((m) => (
            <label key={m.id} class="check">
              <input
                type="checkbox"
                checked={mods.includes(m.id)}
                onChange={(e) => setMods((ms) => (e.currentTarget.checked ? [...ms, m.id] : ms.filter((x) => x !== m.id)))}
              />
              {m.name} {m.price > 0 && <span class="muted">+{formatMoney(m.price, currency)}</span>}
            </label>
          ))}
        </fieldset>
      )}
      <label>
        Note for the kitchen
        <input value={notes} maxLength={500} onInput={(e) => setNotes(e.currentTarget.value)} />
      </label>
      <div class="qty-row" role="group" aria-label="Quantity">
        <button type="button" aria-label="Fewer" onClick={() => setQty((q) => Math.max(1, q - 1))}>
          −
        </button>
        <output aria-label="Quantity">{qty}</output>
        <button type="button" aria-label="More" onClick={() => setQty((q) => Math.min(999, q + 1))}>
          +
        </button>
      </div>
      <div class="qty-row" role="group" aria-label="Course">
        <button type="button" aria-pressed={course === null} onClick={() => setCourse(null)}>
          Now
        </button>
        {COURSES.map((n) => (
          <button type="button" key={n} aria-label={`Course ${n}`} aria-pressed={course === n} onClick={() => setCourse(n)}>
            {n}
          </button>
        ))}
      </div>
      <div class="dialog-actions">
        {onRemove && (
          <button type="button" class="danger" onClick={onRemove}>
            Remove
          </button>
        )}
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" class="primary" onClick={() => onAdd(mods, notes, qty, course)}>
          {initial ? 'Save' : 'Add'} · {formatMoney(lineTotal(product.effective_price, prices, qty), currency)}
        </button>
      </div>
    </Dialog>
  );
}

function OpenOrders({ tables, onOpen, onChanged }: { tables: FloorTable[]; onOpen: (id: string) => void; onChanged: () => void }) {
  const [orders, setOrders] = useState<Order[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<{ kind: 'move' | 'merge' | 'void'; order: Order } | null>(null);
  const load = async () => {
    try {
      const { data, error: p } = await api.GET('/api/orders', { params: { query: { status: 'open,sent,ready,served' } } });
      if (data) setOrders(data);
      else setError(problemText(p));
    } catch {
      setError('Offline: the open orders cannot be listed until the network is back.');
    }
  };
  useEffect(() => {
    void load();
  }, []);
  const tableCode = (id?: string | null) => tables.find((t) => t.id === id)?.code;
  const done = () => {
    setAction(null);
    void load();
    onChanged();
  };
  return (
    <main class="list-screen">
      <h2>Open orders</h2>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      {orders && !orders.length && <p>No open orders.</p>}
      {orders && orders.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Order</th>
              <th scope="col">Table</th>
              <th scope="col">Status</th>
              <th scope="col">Items</th>
              <th scope="col">Total</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((o) => (
              <tr key={o.id}>
                <th scope="row">#{o.number}</th>
                <td>{tableCode(o.table_id) ?? (o.type === 'takeaway' ? 'Takeaway' : '—')}</td>
                <td class="cap">{o.status}</td>
                <td>{o.items.filter((i) => i.status !== 'voided').reduce((s, i) => s + i.quantity, 0)}</td>
                <td class="money">{formatMoney(o.total, o.currency)}</td>
                <td class="row-actions">
                  <button type="button" aria-label={`Open order ${o.number}`} onClick={() => onOpen(o.id)}>
                    Open
                  </button>
                  {o.type === 'dine_in' && (
                    <button type="button" aria-label={`Move order ${o.number}`} onClick={() => setAction({ kind: 'move', order: o })}>
                      Move
                    </button>
                  )}
                  <button type="button" aria-label={`Merge into order ${o.number}`} onClick={() => setAction({ kind: 'merge', order: o })}>
                    Merge
                  </button>
                  <button type="button" class="danger" aria-label={`Void order ${o.number}`} onClick={() => setAction({ kind: 'void', order: o })}>
                    Void
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {action?.kind === 'move' && <MoveDialog order={action.order} tables={tables} onClose={() => setAction(null)} onDone={done} />}
      {action?.kind === 'merge' && orders && (
        <MergeDialog order={action.order} others={orders.filter((o) => o.id !== action.order.id)} onClose={() => setAction(null)} onDone={done} />
      )}
      {action?.kind === 'void' && <VoidDialog order={action.order} onClose={() => setAction(null)} onDone={done} />}
    </main>
  );
}

function MoveDialog({ order, tables, onClose, onDone }: { order: Order; tables: FloorTable[]; onClose: () => void; onDone: () => void }) {
  const [target, setTarget] = useState('');
  const [error, setError] = useState<string | null>(null);
  const go = async () => {
    const { data, error: p } = await api.POST('/api/orders/{order_id}/move', {
      params: { path: { order_id: order.id } },
      body: { table_id: target, expected_version: order.version },
    });
    if (data) onDone();
    else setError(problemText(p));
  };
  return (
    <Dialog title={`Move order #${order.number}`} onClose={onClose}>
      <label>
        To table
        <select value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
          <option value="">Choose a table</option>
          {tables.filter((t) => t.id !== order.table_id && t.active).map((t) => (
            <option key={t.id} value={t.id}>
              {t.code} ({TABLE_STATE[t.state]})
            </option>
          ))}
        </select>
      </label>
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" class="primary" disabled={!target} onClick={go}>Move</button>
      </div>
    </Dialog>
  );
}

function MergeDialog({ order, others, onClose, onDone }: { order: Order; others: Order[]; onClose: () => void; onDone: () => void }) {
  const [source, setSource] = useState('');
  const [error, setError] = useState<string | null>(null);
  const go = async () => {
    const src = others.find((o) => o.id === source);
    const { data, error: p } = await api.POST('/api/orders/{order_id}/merge', {
      params: { path: { order_id: order.id } },
      body: { source_order_id: source, expected_version: order.version, source_expected_version: src?.version },
    });
    if (data) onDone();
    else setError(problemText(p));
  };
  return (
    <Dialog title={`Merge into order #${order.number}`} onClose={onClose}>
      <label>
        Order to merge in
        <select value={source} onChange={(e) => setSource(e.currentTarget.value)}>
          <option value="">Choose an order</option>
          {others.map((o) => (
            <option key={o.id} value={o.id}>
              #{o.number} · {formatMoney(o.total, o.currency)}
            </option>
          ))}
        </select>
      </label>
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" class="primary" disabled={!source} onClick={go}>Merge</button>
      </div>
    </Dialog>
  );
}

function VoidDialog({ order, onClose, onDone }: { order: Order; onClose: () => void; onDone: () => void }) {
  const me = useStore(session);
  const onTerminal = !!me?.terminal;
  const isManager = me?.staff.role === 'manager' || me?.staff.role === 'admin';
  const [reason, setReason] = useState('');
  const [pin, setPin] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const go = async () => {
    const approval = isManager ? null : onTerminal ? { pin } : { username, password };
    const { data, error: p } = await api.POST('/api/orders/{order_id}/void', {
      params: { path: { order_id: order.id } },
      body: { reason, expected_version: order.version, approval },
    });
    if (data) onDone();
    else setError(problemText(p));
  };
  return (
    <Dialog title={`Void order #${order.number}`} onClose={onClose}>
      <label>
        Reason
        <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} maxLength={200} />
      </label>
      {!isManager &&
        (onTerminal ? (
          <label>
            Manager's PIN
            <input type="password" inputMode="numeric" autocomplete="off" value={pin} onInput={(e) => setPin(e.currentTarget.value)} />
          </label>
        ) : (
          <>
            <label>
              Manager's username
              <input value={username} autocomplete="off" onInput={(e) => setUsername(e.currentTarget.value)} />
            </label>
            <label>
              Manager's password
              <input type="password" autocomplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        ))}
      {error && <p class="alert" role="alert">{error}</p>}
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" class="danger" disabled={!reason.trim()} onClick={go}>Void order</button>
      </div>
    </Dialog>
  );
}

const ENTRY_STATE: Record<QueueEntry['state'], string> = {
  queued: 'Waiting for the network',
  sending: 'Sending…',
  done: 'Sent',
  conflict: 'Refused: needs you',
};

/** What the cashier can do about a refusal, by its problem code. */
const HINTS: Record<string, string> = {
  stale_version: 'Someone changed this order meanwhile. “Try again” applies your change to the order as it is now.',
  depends_on_refused: 'Waits for the refused change above it.',
  product_unavailable: 'An item is sold out. Dismiss this and take the order again without it.',
  no_open_shift: 'Payments need your open shift. Open one (Shift), then “Try again”.',
  overpayment: 'More than the balance: someone took a payment meanwhile. Dismiss this and open the bill again.',
  order_finished: 'The order was closed or voided meanwhile. Dismiss this; refunds are for closed orders.',
  nothing_to_fire: 'That course is not held any more (someone fired it meanwhile). Dismiss this.',
};

const RANK: Record<QueueEntry['state'], number> = { conflict: 0, sending: 1, queued: 1, done: 2 };

function QueueView() {
  const all = useStore(queueEntries);
  // What needs the cashier first, then what waits (in replay order), then what went through.
  const entries = [...all].sort((a, b) => RANK[a.state] - RANK[b.state] || (a.state === 'done' ? b.seq - a.seq : a.seq - b.seq));
  useEffect(() => {
    void refreshQueue();
  }, []);
  return (
    <main class="list-screen">
      <div class="floor-head">
        <h2>Offline queue</h2>
        <button type="button" onClick={() => void flush()}>
          Send now
        </button>
        <button type="button" onClick={async () => { await clearDone(queueStore); await refreshQueue(); }}>
          Clear sent
        </button>
      </div>
      <p class="muted">
        Changes made while the server is unreachable wait here and are sent in order, once each, when it is back.
      </p>
      {!entries.length && <p>Nothing queued.</p>}
      <ol class="queue" aria-label="Queued changes">
        {entries.map((e) => (
          <li key={e.id} class={`queue-entry ${e.state}`}>
            <span class="queue-label">{e.label}</span>
            <span class={`status ${e.state}`}>{ENTRY_STATE[e.state]}</span>
            <small class="muted">{new Date(e.createdAt).toLocaleTimeString()}</small>
            {e.problem && (
              <p class="alert" role="alert">
                {e.problem.detail ?? e.problem.title ?? e.problem.code}
                {e.problem.code && HINTS[e.problem.code] && <span class="hint"> {HINTS[e.problem.code]}</span>}
              </p>
            )}
            {e.state === 'conflict' && (
              <span class="row-actions">
                <button type="button" aria-label={`Try again: ${e.label}`} onClick={async () => { await retryConflict(queueStore, e.id); await flush(); }}>
                  Try again
                </button>
                <button type="button" class="danger" aria-label={`Dismiss: ${e.label}`} onClick={async () => { await discard(queueStore, e.id); await refreshQueue(); }}>
                  Dismiss
                </button>
              </span>
            )}
          </li>
        ))}
      </ol>
    </main>
  );
}
