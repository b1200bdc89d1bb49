// Pure KDS helpers: timer colours, the all-day count, the board's grouping.
import type { KdsTicket } from '../api/client';

export interface Thresholds {
  /** Seconds after which a ticket turns amber. */
  warn: number;
  /** Seconds after which it turns red. */
  late: number;
}

/** The settings' defaults, used until the first queue arrives with the venue's own. */
export const DEFAULT_THRESHOLDS: Thresholds = { warn: 10 * 60, late: 20 * 60 };

/** The venue's thresholds as `GET /api/kds/tickets` gives them (minutes). */
export function thresholdsOf(t: { warning_minutes: number; late_minutes: number }): Thresholds {
  return { warn: t.warning_minutes * 60, late: t.late_minutes * 60 };
}

export function ageClass(ageSeconds: number, t: Thresholds): 'fresh' | 'warn' | 'late' {
  if (ageSeconds >= t.late) return 'late';
  if (ageSeconds >= t.warn) return 'warn';
  return 'fresh';
}

export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const WAITING = new Set(['sent', 'preparing']);

/** How many of each item are still to make across the tickets, most first. */
export function allDay(tickets: KdsTicket[]): { name: string; quantity: number }[] {
  const counts = new Map<string, number>();
  for (const t of tickets)
    for (const i of t.items) if (WAITING.has(i.status)) counts.set(i.name, (counts.get(i.name) ?? 0) + i.quantity);
  return [...counts.entries()]
    .map(([name, quantity]) => ({ name, quantity }))
    .sort((a, b) => b.quantity - a.quantity || a.name.localeCompare(b.name));
}

export function ticketDone(t: KdsTicket): boolean {
  return t.items.every((i) => !WAITING.has(i.status));
}

/** Order numbers for the customer board. "Ready" is the order's own status as the server
 * decides it (`order_ready`: every item at every station made and no later course held),
 * not this station's ticket being done: a ticket sees neither the other stations nor a
 * course still held at them. */
export function boardNumbers(tickets: KdsTicket[]): { preparing: number[]; ready: number[] } {
  const byOrder = new Map<string, { number: number; done: boolean }>();
  for (const t of tickets) {
    const prev = byOrder.get(t.order_id);
    byOrder.set(t.order_id, { number: t.number, done: (prev?.done ?? true) && t.order_ready });
  }
  const preparing: number[] = [];
  const ready: number[] = [];
  for (const { number, done } of byOrder.values()) (done ? ready : preparing).push(number);
  return { preparing: preparing.sort((a, b) => a - b), ready: ready.sort((a, b) => a - b) };
}

/** Oldest first (by when the station got it). */
export function byAge(tickets: KdsTicket[]): KdsTicket[] {
  return [...tickets].sort((a, b) => a.sent_at.localeCompare(b.sent_at) || a.number - b.number);
}
