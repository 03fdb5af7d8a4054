import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientAddresses } from "./client-address.ts";

test("X-Forwarded-For is read from the right across every line; planted hops on the left are not believed", () => {
  const a = new ClientAddresses(["127.0.0.1", "10.0.0.0/8"]);
  // HAProxy's `option forwardfor` after a planted line: lines "198.51.100.9" then "127.0.0.2", joined.
  assert.equal(a.of("127.0.0.1", "198.51.100.9,127.0.0.2"), "127.0.0.2");
  assert.equal(a.of("127.0.0.1", "198.51.100.9, 203.0.113.1,10.1.1.1"), "203.0.113.1", "trusted hops are skipped");
  assert.equal(a.of("127.0.0.1", "198.51.100.9,garbage"), "127.0.0.1", "a malformed hop: the peer");
  assert.equal(a.of("127.0.0.1", "10.2.2.2"), "127.0.0.1", "only trusted hops: the peer");
  assert.equal(a.of("192.0.2.1", "198.51.100.9"), "192.0.2.1", "an untrusted peer's header is ignored");
  assert.equal(a.keyOf("127.0.0.1", "2001:db8:1:2::5"), "2001:0db8:0001:0002::/64");
  assert.equal(new ClientAddresses([]).of("127.0.0.1", "198.51.100.9"), "127.0.0.1", "no trusted proxies: the peer");
});
