/**
 * The viewer's persistent id: created once per browser and kept in localStorage, so the server's
 * `once` policy recognises a viewer across reloads and reconnects. If storage is unavailable
 * (private mode, disabled), the id lives for this page only - and the page still works.
 */
const KEY = "buzzcast.viewer";

export function viewerId(storage: Pick<Storage, "getItem" | "setItem"> | null = safeLocalStorage()): string {
  const existing = storage?.getItem(KEY);
  if (existing && existing.length <= 128) return existing;
  const id = randomId();
  try {
    storage?.setItem(KEY, id);
  } catch (err) {
    console.warn("buzzcast: could not persist the viewer id; it lasts for this page only", err);
  }
  return id;
}

/** 128 random bits as hex; crypto.getRandomValues works on plain http too (randomUUID does not). */
function randomId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return "v-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch (err) {
    // Storage access throws in sandboxed iframes or with cookies blocked: fall back to a per-page id.
    console.warn("buzzcast: localStorage unavailable", err);
    return null;
  }
}
