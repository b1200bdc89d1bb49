// The offline queue. Every order mutation the POS makes goes through it, online or not:
// it is written to IndexedDB first with its Idempotency-Key, then sent. When the server is
// unreachable the entry stays queued and is replayed, in order and with the SAME key, when
// the network returns, so a replay can never create a second order. An order created
// offline gets a client-made id (`local:<uuid>`); later entries refer to it and are
// rewritten with the server's id once the create went through. A refusal (stale version,
// sold-out item) becomes a `conflict` shown to the cashier, never dropped silently.

import { uuid } from './ids';

export type EntryState = 'queued' | 'sending' | 'done' | 'conflict';

export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  /** The request field the refusal names (`approval`, `amount`, …). */
  field?: string;
}

export interface QueueEntry {
  id: string;
  seq: number;
  /** What the cashier sees, e.g. "New order, T4: 3 items". */
  label: string;
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** May contain `local:<uuid>` references to an order created by an earlier entry. */
  path: string;
  body?: unknown;
  idempotencyKey: string;
  /** The client-made id this entry's answer gives a server id to (order creation). */
  creates?: string;
  /** Entries queued together (add items, then send): a refusal holds the later ones. */
  group?: string;
  state: EntryState;
  attempts: number;
  problem?: Problem;
  /** The server's answer body of a done entry. */
  result?: unknown;
  createdAt: string;
}

export type NewEntry = Pick<QueueEntry, 'label' | 'method' | 'path' | 'body' | 'creates'>;

export interface QueueStore {
  all(): Promise<QueueEntry[]>;
  put(entry: QueueEntry): Promise<void>;
  remove(id: string): Promise<void>;
  mapping(localId: string): Promise<string | undefined>;
  setMapping(localId: string, serverId: string): Promise<void>;
}

export interface Answer {
  status: number;
  body: unknown;
}

/** Sends one request; throws when the server cannot be reached at all. */
export type Sender = (method: string, path: string, body: unknown, idempotencyKey: string) => Promise<Answer>;

export const LOCAL_PREFIX = 'local:';

export function localId(): string {
  return LOCAL_PREFIX + uuid();
}

export function isLocalId(id: string | undefined | null): boolean {
  return !!id && id.startsWith(LOCAL_PREFIX);
}

export async function enqueue(store: QueueStore, entries: NewEntry[]): Promise<QueueEntry[]> {
  const existing = await store.all();
  let seq = existing.reduce((max, e) => Math.max(max, e.seq), 0);
  const made: QueueEntry[] = [];
  const group = uuid();
  for (const e of entries) {
    const entry: QueueEntry = {
      ...e,
      group,
      id: uuid(),
      seq: ++seq,
      idempotencyKey: uuid(),
      state: 'queued',
      attempts: 0,
      createdAt: new Date().toISOString(),
    };
    await store.put(entry);
    made.push(entry);
  }
  return made;
}

const LOCAL_RE = /local:[0-9a-f-]{36}/g;

function references(entry: QueueEntry): string[] {
  const text = entry.path + JSON.stringify(entry.body ?? null);
  return [...new Set(text.match(LOCAL_RE) ?? [])];
}

function substitute<T>(value: T, map: Map<string, string>): T {
  const text = JSON.stringify(value ?? null).replace(LOCAL_RE, (m) => map.get(m) ?? m);
  return JSON.parse(text) as T;
}

/** Statuses that mean "try again later" rather than "refused". */
function retryable(status: number, body: unknown): boolean {
  if (status >= 500 || status === 429 || status === 408) return true;
  const code = (body as { code?: string } | null)?.code;
  return status === 409 && code === 'request_in_progress';
}

export interface ReplayOutcome {
  /** False when the server could not be reached (entries stay queued). */
  reachable: boolean;
  sent: number;
  conflicts: number;
}

let running: Promise<ReplayOutcome> | null = null;

/** Replays queued entries in order; one replay at a time per page. */
export function replay(store: QueueStore, send: Sender): Promise<ReplayOutcome> {
  if (!running) {
    running = replayOnce(store, send).finally(() => {
      running = null;
    });
  }
  return running;
}

async function replayOnce(store: QueueStore, send: Sender): Promise<ReplayOutcome> {
  const outcome: ReplayOutcome = { reachable: true, sent: 0, conflicts: 0 };
  const entries = (await store.all()).sort((a, b) => a.seq - b.seq);
  const refused = new Set(entries.filter((e) => e.state === 'conflict' && e.creates).map((e) => e.creates!));
  const refusedGroups = new Set(entries.filter((e) => e.state === 'conflict' && e.group).map((e) => e.group!));
  const hold = async (entry: QueueEntry) => {
    await store.put({
      ...entry,
      state: 'conflict',
      problem: { status: 0, code: 'depends_on_refused', detail: 'Held: a change queued before it was refused.' },
    });
    if (entry.creates) refused.add(entry.creates);
    outcome.conflicts++;
  };
  for (const entry of entries) {
    // `sending` survives a reload that interrupted a send: resend with the same key, the
    // server answers the stored result if the first attempt went through.
    if (entry.state !== 'queued' && entry.state !== 'sending') continue;
    if (entry.group && refusedGroups.has(entry.group)) {
      await hold(entry);
      continue;
    }
    const map = new Map<string, string>();
    let blockedBy: string | undefined;
    for (const ref of references(entry)) {
      const server = await store.mapping(ref);
      if (server) map.set(ref, server);
      else blockedBy = ref;
    }
    if (blockedBy) {
      if (refused.has(blockedBy)) await hold(entry);
      continue; // otherwise its order is still queued ahead of it
    }
    const path = substitute(entry.path, map);
    const body = substitute(entry.body, map);
    await store.put({ ...entry, state: 'sending', attempts: entry.attempts + 1 });
    let answer: Answer;
    try {
      answer = await send(entry.method, path, body, entry.idempotencyKey);
    } catch {
      await store.put({ ...entry, state: 'queued', attempts: entry.attempts + 1 });
      outcome.reachable = false;
      return outcome;
    }
    if (answer.status >= 200 && answer.status < 300) {
      if (entry.creates) {
        const id = (answer.body as { id?: string } | null)?.id;
        if (id) await store.setMapping(entry.creates, id);
      }
      await store.put({ ...entry, path, body, state: 'done', attempts: entry.attempts + 1, result: answer.body, problem: undefined });
      outcome.sent++;
    } else if (retryable(answer.status, answer.body)) {
      await store.put({ ...entry, state: 'queued', attempts: entry.attempts + 1 });
      return outcome;
    } else {
      const p = (answer.body ?? {}) as Problem;
      await store.put({
        ...entry,
        state: 'conflict',
        attempts: entry.attempts + 1,
        problem: { status: answer.status, code: p.code, title: p.title, detail: p.detail, field: p.field },
      });
      if (entry.creates) refused.add(entry.creates);
      if (entry.group) refusedGroups.add(entry.group);
      outcome.conflicts++;
    }
  }
  return outcome;
}

/** The cashier chose to try a refused entry again: a NEW key (the old one would replay the
 * refusal) and, for a stale version, without the version check. */
export async function retryConflict(store: QueueStore, id: string): Promise<void> {
  const entry = (await store.all()).find((e) => e.id === id);
  if (!entry || entry.state !== 'conflict') return;
  let body = entry.body;
  if (body && typeof body === 'object' && 'expected_version' in body) {
    const { expected_version: _, ...rest } = body as Record<string, unknown>;
    body = rest;
  }
  await store.put({ ...entry, body, state: 'queued', idempotencyKey: uuid(), problem: undefined });
  // Entries blocked only because this one was refused get another chance too.
  for (const other of await store.all()) {
    if (other.state === 'conflict' && other.problem?.code === 'depends_on_refused') {
      await store.put({ ...other, state: 'queued', problem: undefined });
    }
  }
}

/** The cashier read a conflict and dismissed it, or cleared finished entries. */
export async function discard(store: QueueStore, id: string): Promise<void> {
  await store.remove(id);
}

export async function clearDone(store: QueueStore): Promise<void> {
  for (const e of await store.all()) if (e.state === 'done') await store.remove(e.id);
}

// ---- IndexedDB ----

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export class IdbQueueStore implements QueueStore {
  private db: Promise<IDBDatabase>;

  constructor(name = 'pos-offline') {
    this.db = new Promise((resolve, reject) => {
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => {
        open.result.createObjectStore('entries', { keyPath: 'id' });
        open.result.createObjectStore('ids');
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  }

  private async tx(store: string, mode: IDBTransactionMode): Promise<IDBObjectStore> {
    return (await this.db).transaction(store, mode).objectStore(store);
  }

  async all(): Promise<QueueEntry[]> {
    const list = await request((await this.tx('entries', 'readonly')).getAll() as IDBRequest<QueueEntry[]>);
    return list.sort((a, b) => a.seq - b.seq);
  }
  async put(entry: QueueEntry): Promise<void> {
    await request((await this.tx('entries', 'readwrite')).put(entry));
  }
  async remove(id: string): Promise<void> {
    await request((await this.tx('entries', 'readwrite')).delete(id));
  }
  async mapping(localId: string): Promise<string | undefined> {
    return (await request((await this.tx('ids', 'readonly')).get(localId))) as string | undefined;
  }
  async setMapping(localId: string, serverId: string): Promise<void> {
    await request((await this.tx('ids', 'readwrite')).put(serverId, localId));
  }
}
