import { registerSW } from 'virtual:pwa-register';

/** The service worker precaches the app shell (and caches the menu) so a terminal that
 * reloads during an outage still opens. */
export function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  registerSW({ immediate: true });
}
