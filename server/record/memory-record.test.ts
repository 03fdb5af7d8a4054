import { MemoryRecord } from "./memory-record.ts";
import { auditContract } from "./audit.contract.ts";
import { proofContract } from "./proof.contract.ts";
import { recordContract } from "./record.contract.ts";

recordContract("MemoryRecord", async () => {
  const record = new MemoryRecord();
  return { record, cleanup: () => record.close() };
});
auditContract("MemoryRecord", async () => {
  const record = new MemoryRecord();
  return { record, cleanup: () => record.close() };
});
proofContract("MemoryRecord", async () => {
  const record = new MemoryRecord();
  return { record, cleanup: () => record.close() };
});
