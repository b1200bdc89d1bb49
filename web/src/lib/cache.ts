// Last good copies of what a terminal needs to take orders offline (the service worker
// also caches the menu; this survives a browser without one).
export function remember<T>(key: string, value: T) {
  try {
    localStorage.setItem(`pos.cache.${key}`, JSON.stringify(value));
  } catch {
    // storage full: the service worker's copy remains
  }
}

export function recall<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(`pos.cache.${key}`);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}
