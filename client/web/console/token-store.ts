/**
 * The admin token lives in sessionStorage only: it survives a reload of this tab, is gone when the
 * tab closes, and never appears in a URL (the sign-in form is submitted by script, method POST).
 */
const KEY = "buzzcast.adminToken";

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch (err) {
    console.warn("buzzcast: sessionStorage unavailable; sign in again after a reload", err);
    return null;
  }
}

export function saveToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token);
  } catch (err) {
    console.warn("buzzcast: sessionStorage unavailable; the token lasts for this page only", err);
  }
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch (err) {
    console.warn("buzzcast: sessionStorage unavailable", err);
  }
}
