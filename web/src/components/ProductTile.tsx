import { useState } from 'preact/hooks';
import type { MenuProduct } from '../api/client';
import { formatMoney } from '../lib/money';

export function ProductTile({ product, currency, onPick }: { product: MenuProduct; currency: string; onPick: () => void }) {
  // The URL that failed to load (if any): a product that gets an image later, or a new one,
  // shows it at once.
  const [failed, setFailed] = useState<string | null>(null);
  const imageOk = !!product.image_url && failed !== product.image_url;
  const price = formatMoney(product.effective_price, currency);
  return (
    <button type="button" class={`product ${product.orderable ? '' : 'sold-out'}`} disabled={!product.orderable} onClick={onPick}>
      {imageOk && product.image_url && (
        <img src={product.image_url} alt="" loading="lazy" width={160} height={96} onError={() => setFailed(product.image_url ?? null)} />
      )}
      <span class="product-name">{product.name}</span>
      <span class="product-price">
        {product.happy_hour_active && (
          <s>
            <span class="visually-hidden">was </span>
            {formatMoney(product.price, currency)}
          </s>
        )}{' '}
        {price}
      </span>
      {product.happy_hour_active && <span class="badge hh">Happy hour</span>}
      {!product.orderable && <span class="badge out">Sold out</span>}
      {product.modifiers.length > 0 && <span class="badge mods">Options</span>}
    </button>
  );
}
