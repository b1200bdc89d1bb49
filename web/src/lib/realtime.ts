// Live events over the browser's own EventSource: the session cookie authenticates it, and
// when the connection drops the browser reconnects by itself sending Last-Event-ID, so the
// server replays what was missed. When the stream is closed for good (readyState CLOSED,
// e.g. the server restarted and answered an error), or the device went offline, we reopen
// it with `?since=` ourselves.
import { useEffect } from 'preact/hooks';
import { store, useStore } from './store';

export type LinkState = 'connecting' | 'live' | 'reconnecting';

export const linkState = store<LinkState>('connecting');

export interface StreamOptions {
  topics?: string;
  station?: string;
  onEvent: (type: string, data: unknown) => void;
}

const TYPES = [
  'order.created', 'order.updated', 'order.sent', 'item.status_changed', 'order.ready', 'order.voided',
  'order.closed', 'order.merged', 'order.paid', 'table.updated', 'menu.updated', 'print_job.queued',
  'payment.completed', 'payment.failed', 'shift.opened', 'shift.closed', 'shift.cash_movement', 'ready',
];

export function openStream(opts: StreamOptions): () => void {
  let lastId: string | undefined;
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const connect = () => {
    const params = new URLSearchParams();
    if (opts.topics) params.set('topics', opts.topics);
    if (opts.station) params.set('station', opts.station);
    if (lastId) params.set('since', lastId);
    source = new EventSource(`/api/realtime/stream?${params}`, { withCredentials: true });
    source.onopen = () => linkState.set('live');
    source.onerror = () => {
      linkState.set('reconnecting');
      if (source?.readyState === EventSource.CLOSED && !stopped) {
        timer = setTimeout(connect, 3000);
      }
    };
    const handler = (ev: MessageEvent) => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      if (ev.type === 'ready') linkState.set('live');
      let data: unknown = null;
      try {
        data = JSON.parse(ev.data);
      } catch {
        data = ev.data;
      }
      opts.onEvent(ev.type, data);
    };
    for (const t of TYPES) source.addEventListener(t, handler as EventListener);
  };
  connect();
  // A device that loses its network may keep a half-open stream for minutes: say so at
  // once, and resume from the last event id as soon as the network is back.
  const offline = () => {
    source?.close();
    linkState.set('reconnecting');
  };
  const online = () => {
    if (stopped) return;
    clearTimeout(timer);
    source?.close();
    connect();
  };
  window.addEventListener('offline', offline);
  window.addEventListener('online', online);
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
    window.removeEventListener('offline', offline);
    window.removeEventListener('online', online);
  };
}

export function useStream(opts: StreamOptions, deps: unknown[]) {
  useEffect(() => openStream(opts), deps);
}

export function useLinkState(): LinkState {
  return useStore(linkState);
}
