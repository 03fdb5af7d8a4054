import assert from "node:assert/strict";
import { test } from "node:test";
import { fragmentToken } from "./fragment-token.ts";

test("the token is read from the fragment, beside other fragment parameters", () => {
  assert.equal(fragmentToken("#token=eyJ.abc.def"), "eyJ.abc.def");
  assert.equal(fragmentToken("#x=1&token=a-b_c"), "a-b_c");
  assert.equal(fragmentToken("token=t"), "t");
});

test("no fragment, an empty token or another parameter: no token", () => {
  assert.equal(fragmentToken(""), null);
  assert.equal(fragmentToken("#"), null);
  assert.equal(fragmentToken("#token="), null);
  assert.equal(fragmentToken("#tokens=x"), null);
});
