// The menu: categories, products (price, happy-hour price, station, stock, image), their
// modifiers with prices, and the 86 switch. Terminals hear `menu.updated` and refresh.
import { useEffect, useState } from 'preact/hooks';
import type { Schemas } from '../../api/client';
import { Dialog } from '../../components/Dialog';
import { CheckField, FormError, SelectField, TextField, useForm } from '../../components/Form';
import { ImagePicker } from '../../components/ImagePicker';
import { Scroll } from '../../components/Tabs';
import { parseMinor } from '../../lib/bill';
import { ActionKeys, get, message } from '../../lib/http';
import { currencyExponent, formatMoney } from '../../lib/money';
import { uploadImage } from '../../lib/upload';
import { minorToInput, parseWhole } from '../../lib/units';

type Category = Schemas['AdminCategoryView'];
type Product = Schemas['AdminProductView'];
type Modifier = Schemas['AdminModifierView'];

const STATIONS = [
  ['', 'The category’s'],
  ['kitchen', 'Kitchen'],
  ['bar', 'Bar'],
] as const;
const CATEGORY_STATIONS = [
  ['', 'None'],
  ['kitchen', 'Kitchen'],
  ['bar', 'Bar'],
] as const;

export function MenuTab({ currency }: { currency: string }) {
  const [keys] = useState(() => new ActionKeys());
  const [categories, setCategories] = useState<Category[]>([]);
  const [products, setProducts] = useState<Product[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<Product | 'new' | null>(null);
  const [stock, setStock] = useState<Product | null>(null);
  const [category, setCategory] = useState<Category | 'new' | null>(null);
  const cur = products?.[0]?.currency ?? currency;

  const load = async () => {
    const [c, p] = await Promise.all([get<Category[]>('/api/admin/categories'), get<Product[]>('/api/admin/products?include_inactive=true')]);
    if (c.ok) setCategories(c.data);
    if (p.ok) setProducts(p.data);
    else setError(message(p.problem));
  };
  useEffect(() => {
    void load();
  }, []);
  const done = async (text: string) => {
    setNotice(text);
    setError(null);
    await load();
  };

  const toggle86 = async (p: Product) => {
    const r = await keys.call<Product>('POST', `/api/admin/products/${p.id}/availability`, { available: !p.available });
    if (r.ok) await done(r.data.available ? `${p.name} is back on the menu.` : `${p.name} is 86'd.`);
    else setError(message(r.problem));
  };

  const catName = (id: string) => categories.find((c) => c.id === id)?.name ?? '—';
  const shown = (products ?? []).filter((p) => !filter || p.category_id === filter);

  return (
    <div class="admin-grid">
      <section class="card admin-section" aria-labelledby="cats-h">
        <div class="floor-head">
          <h3 id="cats-h">Categories</h3>
          <button type="button" onClick={() => setCategory('new')}>
            New category
          </button>
        </div>
        <ul class="plain">
          {categories.map((c) => (
            <li key={c.id} class="cat-row">
              <span>
                {c.name}
                <small class="muted block">
                  {c.default_station ? `Station: ${c.default_station}` : 'No station'}
                  {!c.active && ' · hidden'}
                </small>
              </span>
              <button type="button" aria-label={`Edit category ${c.name}`} onClick={() => setCategory(c)}>
                Edit
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section class="card admin-section" aria-labelledby="products-h">
        <div class="floor-head">
          <h3 id="products-h">Products</h3>
          <button type="button" class="primary" onClick={() => setEditing('new')} disabled={categories.length === 0}>
            New product
          </button>
        </div>
        <div class="row-filter">
          <div class="field">
            <label for="menu-filter">Show category</label>
            <select id="menu-filter" value={filter} onChange={(e) => setFilter(e.currentTarget.value)}>
              <option value="">All categories</option>
              {categories.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        {notice && <p role="status">{notice}</p>}
        {error && (
          <p class="alert" role="alert">
            {error}
          </p>
        )}
        {products && (
          <Scroll label="Product list">
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Image</th>
                  <th scope="col">Product</th>
                  <th scope="col">Category</th>
                  <th scope="col">Price</th>
                  <th scope="col">Happy hour</th>
                  <th scope="col">Stock</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((p) => (
                  <tr key={p.id} aria-label={p.name}>
                    <td>{p.image_url ? <img class="thumb" src={p.image_url} alt="" onError={(e) => (e.currentTarget.style.visibility = 'hidden')} /> : <span class="muted">—</span>}</td>
                    <th scope="row">
                      {p.name} {!p.available && <span class="pill-86">86</span>}
                      <small class="muted block">
                        {p.sku}
                        {p.station ? ` · ${p.station}` : ''}
                        {!p.active ? ' · retired' : ''}
                        {p.modifiers.length ? ` · ${p.modifiers.filter((m) => m.active).length} modifiers` : ''}
                      </small>
                    </th>
                    <td>{catName(p.category_id)}</td>
                    <td class="money">{formatMoney(p.price, p.currency)}</td>
                    <td class="money">{p.happy_hour_price == null ? '—' : formatMoney(p.happy_hour_price, p.currency)}</td>
                    <td class="num">{p.stock_qty ?? '—'}</td>
                    <td>
                      <div class="row-actions">
                        <button type="button" aria-label={`Edit ${p.name}`} onClick={() => setEditing(p)}>
                          Edit
                        </button>
                        <button type="button" aria-label={`Stock of ${p.name}`} onClick={() => setStock(p)}>
                          Stock
                        </button>
                        <button type="button" class={p.available ? 'danger' : ''} aria-label={p.available ? `86 ${p.name}` : `Back on the menu: ${p.name}`} onClick={() => toggle86(p)}>
                          {p.available ? '86' : 'Back on'}
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Scroll>
        )}
      </section>
      {editing && (
        <ProductDialog
          product={editing === 'new' ? null : editing}
          categories={categories}
          currency={cur}
          defaultCategory={filter || categories[0]?.id || ''}
          onClose={() => setEditing(null)}
          onDone={async (text) => {
            setEditing(null);
            await done(text);
          }}
        />
      )}
      {stock && (
        <StockDialog
          product={stock}
          onClose={() => setStock(null)}
          onDone={async (text) => {
            setStock(null);
            await done(text);
          }}
        />
      )}
      {category && (
        <CategoryDialog
          category={category === 'new' ? null : category}
          onClose={() => setCategory(null)}
          onDone={async (text) => {
            setCategory(null);
            await done(text);
          }}
        />
      )}
    </div>
  );
}

function CategoryDialog({ category, onClose, onDone }: { category: Category | null; onClose: () => void; onDone: (t: string) => void }) {
  const [keys] = useState(() => new ActionKeys());
  const form = useForm({
    name: category?.name ?? '',
    default_station: category?.default_station ?? '',
    sort_order: category ? String(category.sort_order) : '',
    active: category?.active ?? true,
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = form.values;
    const sort = v.sort_order.trim() ? parseWhole(v.sort_order) : null;
    if (v.sort_order.trim() && sort === null) return form.refuse({ status: 400, field: 'sort_order', detail: 'Type a whole number.' });
    const body: Record<string, unknown> = { name: v.name.trim(), default_station: v.default_station || null };
    if (sort !== null) body.sort_order = sort;
    if (category) body.active = v.active;
    form.setBusy(true);
    const r = category ? await keys.call<Category>('PATCH', `/api/admin/categories/${category.id}`, body) : await keys.call<Category>('POST', '/api/admin/categories', body);
    form.setBusy(false);
    if (r.ok) onDone(`Category ${r.data.name} saved.`);
    else form.refuse(r.problem);
  };
  return (
    <Dialog title={category ? `Edit category ${category.name}` : 'New category'} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <TextField form={form} name="name" label="Name" />
        <SelectField form={form} name="default_station" label="Prepared at" options={CATEGORY_STATIONS} />
        <TextField form={form} name="sort_order" label="Sort order" inputMode="numeric" />
        {category && <CheckField form={form} name="active" label="Shown on the menu" />}
        <FormError form={form} />
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Save category
          </button>
        </div>
      </form>
    </Dialog>
  );
}

type ProductForm = { category_id: string; name: string; sku: string; price: string; happy_hour_price: string; station: string; stock_qty: string; sort_order: string; active: boolean };

function ProductDialog({
  product,
  categories,
  currency,
  defaultCategory,
  onClose,
  onDone,
}: {
  product: Product | null;
  categories: Category[];
  currency: string;
  defaultCategory: string;
  onClose: () => void;
  onDone: (t: string) => void;
}) {
  const [keys] = useState(() => new ActionKeys());
  const exp = currencyExponent(currency);
  const form = useForm<ProductForm>({
    category_id: product?.category_id ?? defaultCategory,
    name: product?.name ?? '',
    sku: product?.sku ?? '',
    price: product ? minorToInput(product.price, exp) : '',
    happy_hour_price: product?.happy_hour_price != null ? minorToInput(product.happy_hour_price, exp) : '',
    station: product?.station ?? '',
    stock_qty: product?.stock_qty != null ? String(product.stock_qty) : '',
    sort_order: product ? String(product.sort_order) : '',
    active: product?.active ?? true,
  });
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);
  const [saved, setSaved] = useState<Product | null>(product);
  const [notice, setNotice] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const v = form.values;
    const price = parseMinor(v.price, currency);
    if (price === null) return form.refuse({ status: 400, field: 'price', detail: `Type the price in ${currency}.` });
    const hh = v.happy_hour_price.trim() ? parseMinor(v.happy_hour_price, currency) : null;
    if (v.happy_hour_price.trim() && hh === null) return form.refuse({ status: 400, field: 'happy_hour_price', detail: `Type the price in ${currency}, or leave it empty.` });
    const sort = v.sort_order.trim() ? parseWhole(v.sort_order) : null;
    if (v.sort_order.trim() && sort === null) return form.refuse({ status: 400, field: 'sort_order', detail: 'Type a whole number.' });
    const stockQty = v.stock_qty.trim() ? parseWhole(v.stock_qty) : null;
    if (!saved && v.stock_qty.trim() && stockQty === null) return form.refuse({ status: 400, field: 'stock_qty', detail: 'Type a whole number, or leave it empty (not tracked).' });
    const body: Record<string, unknown> = {
      category_id: v.category_id,
      name: v.name.trim(),
      sku: v.sku.trim(),
      price,
      happy_hour_price: hh,
      station: v.station || null,
    };
    if (sort !== null) body.sort_order = sort;
    if (saved) body.active = v.active;
    else if (stockQty !== null) body.stock_qty = stockQty;
    form.setBusy(true);
    setFileError(null);
    // Saved first (a new product needs its id for the image), so a refused image leaves the
    // product saved and the dialog open on the image field.
    const r = saved ? await keys.call<Product>('PATCH', `/api/admin/products/${saved.id}`, body) : await keys.call<Product>('POST', '/api/admin/products', body);
    if (!r.ok) {
      form.setBusy(false);
      return form.refuse(r.problem);
    }
    const created = !saved;
    setSaved(r.data);
    if (file) {
      const up = await uploadImage<{ image_url: string }>(`/api/admin/products/${r.data.id}/image`, file);
      form.setBusy(false);
      if (!up.ok) {
        setFileError(`${message(up.problem, 'The image was refused.')} The product itself is saved.`);
        return;
      }
      setSaved({ ...r.data, image_url: up.data.image_url });
    }
    form.setBusy(false);
    setFile(null);
    // A new product stays open for its modifiers; an edit is done.
    if (created) setNotice(`${r.data.name} saved: add its modifiers, or close.`);
    else onDone(`${r.data.name} saved.`);
  };

  return (
    <Dialog title={product ? `Edit ${product.name}` : 'New product'} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <SelectField form={form} name="category_id" label="Category" options={categories.map((c) => [c.id, c.name] as const)} />
        <TextField form={form} name="name" label="Name" />
        <TextField form={form} name="sku" label="SKU" autocomplete="off" />
        <TextField form={form} name="price" label={`Price (${currency})`} inputMode="decimal" />
        <TextField form={form} name="happy_hour_price" label={`Happy-hour price (${currency}, optional)`} inputMode="decimal" hint="Charged inside the daily window set in Settings" />
        <SelectField form={form} name="station" label="Prepared at" options={STATIONS} />
        {!saved && <TextField form={form} name="stock_qty" label="Stock on hand (optional)" inputMode="numeric" hint="Empty: not tracked" />}
        <TextField form={form} name="sort_order" label="Sort order" inputMode="numeric" />
        {saved && <CheckField form={form} name="active" label="On the menu (untick to retire)" />}
        <ImagePicker label="Image" current={saved?.image_url} file={file} onFile={(f) => { setFile(f); setFileError(null); }} error={fileError} />
        <FormError form={form} />
        {notice && <p role="status">{notice}</p>}
        <div class="dialog-actions">
          <button type="button" onClick={saved && !product ? () => onDone(`${saved.name} saved.`) : onClose}>
            {saved && !product ? 'Close' : 'Cancel'}
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Save product
          </button>
        </div>
      </form>
      {saved && <Modifiers product={saved} currency={currency} onChange={setSaved} />}
    </Dialog>
  );
}

function Modifiers({ product, currency, onChange }: { product: Product; currency: string; onChange: (p: Product) => void }) {
  const [keys] = useState(() => new ActionKeys());
  const form = useForm({ name: '', price: '' });
  const [error, setError] = useState<string | null>(null);
  const reload = async () => {
    const r = await get<Product>(`/api/admin/products/${product.id}`);
    if (r.ok) onChange(r.data);
  };
  const add = async (e: Event) => {
    e.preventDefault();
    const price = form.values.price.trim() ? parseMinor(form.values.price, currency) : 0;
    if (price === null) return form.refuse({ status: 400, field: 'price', detail: `Type the price in ${currency}.` });
    const r = await keys.call<Modifier>('POST', `/api/admin/products/${product.id}/modifiers`, { name: form.values.name.trim(), price });
    if (r.ok) {
      form.reset();
      await reload();
    } else form.refuse(r.problem);
  };
  const retire = async (m: Modifier) => {
    const r = await keys.call<Modifier>('PATCH', `/api/admin/modifiers/${m.id}`, { active: !m.active });
    if (r.ok) await reload();
    else setError(message(r.problem));
  };
  return (
    <section aria-labelledby="mods-h" class="form">
      <h3 id="mods-h">Modifiers</h3>
      {product.modifiers.length === 0 && <p class="muted">None yet.</p>}
      <ul class="plain">
        {product.modifiers.map((m) => (
          <li key={m.id} class="cat-row">
            <span>
              {m.name} · {formatMoney(m.price, currency)}
              {!m.active && <small class="muted"> (retired)</small>}
            </span>
            <button type="button" aria-label={`${m.active ? 'Retire' : 'Restore'} modifier ${m.name}`} onClick={() => retire(m)}>
              {m.active ? 'Retire' : 'Restore'}
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p class="alert" role="alert">
          {error}
        </p>
      )}
      <form class="form" onSubmit={add} aria-label="Add a modifier">
        <TextField form={form} name="name" label="Modifier name" hint="e.g. Extra shot" />
        <TextField form={form} name="price" label={`Modifier price (${currency})`} inputMode="decimal" hint="Empty: free" />
        <FormError form={form} />
        <button type="submit">Add modifier</button>
      </form>
    </section>
  );
}

function StockDialog({ product, onClose, onDone }: { product: Product; onClose: () => void; onDone: (t: string) => void }) {
  const [keys] = useState(() => new ActionKeys());
  const form = useForm({ mode: 'adjust', amount: '', reason: '' });
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = form.values;
    const body: Record<string, unknown> = { reason: v.reason.trim() };
    if (v.mode === 'untrack') body.set = null;
    else {
      const n = parseWhole(v.amount);
      if (n === null) return form.refuse({ status: 400, field: 'amount', detail: 'Type a whole number.' });
      body[v.mode === 'set' ? 'set' : 'adjust'] = n;
    }
    form.setBusy(true);
    const r = await keys.call<Product>('POST', `/api/admin/products/${product.id}/stock`, body);
    form.setBusy(false);
    if (r.ok) onDone(`Stock of ${product.name}: ${r.data.stock_qty ?? 'not tracked'}.`);
    else form.refuse({ ...r.problem, field: ['set', 'adjust'].includes(r.problem.field ?? '') ? 'amount' : r.problem.field });
  };
  return (
    <Dialog title={`Stock of ${product.name}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <p>On hand now: {product.stock_qty ?? 'not tracked'}.</p>
        <SelectField
          form={form}
          name="mode"
          label="Change"
          options={[
            ['adjust', 'Add or remove units (received, waste)'],
            ['set', 'Set the count'],
            ['untrack', 'Stop tracking'],
          ]}
        />
        {form.values.mode !== 'untrack' && <TextField form={form} name="amount" label={form.values.mode === 'set' ? 'Count' : 'Units (negative to remove)'} inputMode="numeric" />}
        <TextField form={form} name="reason" label="Reason" />
        <FormError form={form} />
        <div class="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={form.busy}>
            Save stock
          </button>
        </div>
      </form>
    </Dialog>
  );
}
