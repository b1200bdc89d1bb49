// The page's one offline queue, its observable contents and the automatic replay.
import { sendJson } from '../api/client';
import { IdbQueueStore, enqueue, replay, type NewEntry, type QueueEntry, type ReplayOutcome } from './queue';
import { store } from './store';

export const queueStore = new IdbQueueStore();
export const queueEntries = store<QueueEntry[]>([]);
/** False after a request failed for want of a network; true again after one got through. */
export const online = store<boolean>(navigator.onLine);

export async function refreshQueue() {
  queueEntries.set(await queueStore.all());
}

export async function flush(): Promise<ReplayOutcome> {
  const outcome = await replay(queueStore, sendJson);
  online.set(outcome.reachable);
  await refreshQueue();
  return outcome;
}

/** Queues `entries` (durably, with their keys), tries to send them now, and answers their
 * states afterwards: `done`, `conflict`, or still `queued` when offline. */
export async function submit(entries: NewEntry[]): Promise<QueueEntry[]> {
  const made = await enqueue(queueStore, entries);
  await refreshQueue();
  if (navigator.onLine) await flush();
  const now = await queueStore.all();
  return made.map((m) => now.find((e) => e.id === m.id) ?? m);
}

let started = false;

export function startAutoReplay() {
  if (started) return;
  started = true;
  void refreshQueue();
  window.addEventListener('online', () => {
    online.set(true);
    void flush();
  });
  window.addEventListener('offline', () => online.set(false));
  setInterval(() => {
    if (queueEntries.get().some((e) => e.state === 'queued' || e.state === 'sending')) void flush();
  }, 5000);
  void flush();
}
