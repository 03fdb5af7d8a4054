/**
 * A signed viewer token handed to the page in its URL fragment (`#token=<jwt>`): the
 * fragment never reaches a server in an HTTP request or a Referer, so the token leaves the device
 * only inside the WebSocket hello. Returns null when the fragment carries none.
 */
export function fragmentToken(hash: string): string | null {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  const token = params.get("token");
  return token !== null && token.length > 0 ? token : null;
}
