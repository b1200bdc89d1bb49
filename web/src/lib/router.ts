import { store, useStore } from './store';

export const location = store({ path: window.location.pathname, search: window.location.search });

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  location.set({ path: window.location.pathname, search: window.location.search });
}

window.addEventListener('popstate', () =>
  location.set({ path: window.location.pathname, search: window.location.search }),
);

export function useLocation() {
  return useStore(location);
}
