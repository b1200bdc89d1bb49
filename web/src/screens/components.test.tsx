import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import type { MenuProduct } from '../api/client';
import { ProductTile } from './Pos';
import { Login, formatWait } from './Login';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

function product(over: Partial<MenuProduct> = {}): MenuProduct {
  return {
    id: 'p1', sku: 'S1', name: 'Local Beer', category_id: 'c1', price: 8000, effective_price: 8000,
    happy_hour_active: false, available: true, orderable: true, sort_order: 1, modifiers: [],
    updated_at: '2026-01-01T00:00:00Z', ...over,
  };
}

describe('ProductTile', () => {
  it('names the product and its price, and adds on tap', () => {
    const onPick = vi.fn();
    render(<ProductTile product={product()} currency="UGX" onPick={onPick} />);
    const button = screen.getByRole('button', { name: /^Local Beer USh 8,000/ });
    fireEvent.click(button);
    expect(onPick).toHaveBeenCalledOnce();
  });

  it("greys out an 86'd item: disabled and says sold out", () => {
    render(<ProductTile product={product({ available: false, orderable: false })} currency="UGX" onPick={() => {}} />);
    const button = screen.getByRole('button', { name: /Sold out/ });
    expect((button as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows the happy-hour price with the usual one struck through', () => {
    render(
      <ProductTile product={product({ effective_price: 5000, happy_hour_price: 5000, happy_hour_active: true })} currency="UGX" onPick={() => {}} />,
    );
    const button = screen.getByRole('button', { name: /Happy hour/ });
    expect(button.textContent).toContain('USh 5,000');
    expect(button.querySelector('s')?.textContent).toContain('USh 8,000');
  });
});

describe('Login', () => {
  it('formats the wait', () => {
    expect(formatWait(900)).toBe('15 min 00 s');
    expect(formatWait(59.2)).toBe('1 min 00 s');
    expect(formatWait(42)).toBe('42 s');
  });

  it('a locked account shows the time left from Retry-After', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        new Response(JSON.stringify({ type: 'about:blank', title: 'Locked', status: 429, detail: 'locked', code: 'account_locked' }), {
          status: 429,
          headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '840' },
        }),
      ),
    );
    render(<Login onSignedIn={() => {}} />);
    fireEvent.input(screen.getByLabelText('Username'), { target: { value: 'gift' } });
    fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/Try again in 1[34] min \d\d s/));
    expect((screen.getByRole('button', { name: 'Sign in' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
