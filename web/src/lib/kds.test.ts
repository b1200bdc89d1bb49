import { describe, expect, it } from 'vitest';
import type { KdsTicket } from '../api/client';
import { ageClass, allDay, boardNumbers, byAge, formatAge, thresholdsOf } from './kds';

function ticket(order: string, number: number, station: 'kitchen' | 'bar', sentAt: string, items: [string, number, string][], orderReady = false): KdsTicket {
  return {
    order_id: order, number, version: 1, order_type: 'dine_in', station, sent_at: sentAt, age_seconds: 0,
    items: items.map(([name, quantity, status], i) => ({
      item_id: `${order}-${station}-${i}`, name, quantity, status: status as KdsTicket['items'][0]['status'],
      modifiers: [], sent_at: sentAt, age_seconds: 0,
    })),
    held: [],
    order_ready: orderReady,
  };
}

describe('kds helpers', () => {
  it('colours by thresholds', () => {
    const t = { warn: 300, late: 600 };
    expect(ageClass(0, t)).toBe('fresh');
    expect(ageClass(299, t)).toBe('fresh');
    expect(ageClass(300, t)).toBe('warn');
    expect(ageClass(600, t)).toBe('late');
    expect(formatAge(605)).toBe('10:05');
  });
  it('reads the venue thresholds in minutes', () => {
    const t = thresholdsOf({ warning_minutes: 8, late_minutes: 15 });
    expect(t).toEqual({ warn: 480, late: 900 });
    expect(ageClass(479, t)).toBe('fresh');
    expect(ageClass(900, t)).toBe('late');
  });
  it('counts what is still to make, ignoring ready items', () => {
    const tickets = [
      ticket('a', 1, 'kitchen', '2026-01-01T10:00:00Z', [['Pizza', 2, 'sent'], ['Chips', 1, 'ready']]),
      ticket('b', 2, 'kitchen', '2026-01-01T10:01:00Z', [['Pizza', 1, 'preparing'], ['Salad', 1, 'sent']]),
    ];
    expect(allDay(tickets)).toEqual([
      { name: 'Pizza', quantity: 3 },
      { name: 'Salad', quantity: 1 },
    ]);
  });
  it('an order is ready on the board only when the server says the whole order is', () => {
    const tickets = [
      ticket('a', 7, 'kitchen', '2026-01-01T10:00:00Z', [['Pizza', 1, 'ready']]),
      ticket('a', 7, 'bar', '2026-01-01T10:00:00Z', [['Beer', 1, 'sent']]),
      ticket('b', 3, 'kitchen', '2026-01-01T10:02:00Z', [['Soup', 1, 'ready']], true),
    ];
    expect(boardNumbers(tickets)).toEqual({ preparing: [7], ready: [3] });
  });
  it('a ticket whose items are all made is still preparing while a later course is held', () => {
    // Course 1 done at the kitchen; course 2 waits at the bar, which has no ticket for it
    // yet: the kitchen ticket alone looks finished, the order is not.
    const held = ticket('c', 12, 'kitchen', '2026-01-01T10:00:00Z', [['Soup', 1, 'ready']], false);
    expect(boardNumbers([held])).toEqual({ preparing: [12], ready: [] });
    expect(boardNumbers([{ ...held, order_ready: true }])).toEqual({ preparing: [], ready: [12] });
  });
  it('orders tickets oldest first', () => {
    const tickets = [
      ticket('b', 2, 'kitchen', '2026-01-01T10:05:00Z', []),
      ticket('a', 9, 'kitchen', '2026-01-01T10:00:00Z', []),
    ];
    expect(byAge(tickets).map((t) => t.number)).toEqual([9, 2]);
  });
});
