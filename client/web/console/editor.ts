/**
 * The show editor: title and acts, saved with PUT /api/shows/:show. It is refilled from the server
 * only while the producer has no unsaved edits, so a live update never wipes what they are typing.
 */
import type { PutShowBody, ShowInfo } from "../../../shared/protocol.ts";
import { h } from "../common/dom.ts";

export class Editor {
  #dirty = false;
  #nextRow = 0;

  constructor(
    form: HTMLFormElement,
    private readonly title: HTMLInputElement,
    private readonly rows: HTMLOListElement,
    addButton: HTMLButtonElement,
    private readonly onSave: (body: PutShowBody) => void,
  ) {
    form.addEventListener("input", () => (this.#dirty = true));
    addButton.addEventListener("click", () => {
      this.#dirty = true;
      const n = this.rows.children.length + 1;
      const ids = new Set(this.#acts().map((a) => a.id));
      let id = `act-${n}`;
      for (let i = n; ids.has(id); i++) id = `act-${i + 1}`;
      this.#addRow(id, "")?.focus();
    });
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      this.onSave({ title: this.title.value.trim(), acts: this.#acts() });
    });
  }

  /** Fill from the server, unless there are unsaved edits (`force` after a save or a show switch). */
  load(info: ShowInfo | null, force = false): void {
    if (this.#dirty && !force) return;
    this.#dirty = false;
    this.title.value = info?.title ?? "";
    this.rows.replaceChildren();
    const acts = info?.acts ?? [{ id: "act-1", name: "" }];
    for (const a of acts) this.#addRow(a.id, a.name);
  }

  #acts(): PutShowBody["acts"] {
    return [...this.rows.querySelectorAll<HTMLLIElement>("li")].map((li) => ({
      id: (li.querySelector<HTMLInputElement>("input[name=act-id]")?.value ?? "").trim(),
      name: (li.querySelector<HTMLInputElement>("input[name=act-name]")?.value ?? "").trim(),
    }));
  }

  #addRow(id: string, name: string): HTMLInputElement | null {
    const k = this.#nextRow++;
    const idInput = h("input", {
      id: `act-id-${k}`,
      name: "act-id",
      required: true,
      pattern: "[A-Za-z0-9_\\-]{1,64}",
      maxlength: "64",
      spellcheck: "false",
      value: id,
    });
    const nameInput = h("input", {
      id: `act-name-${k}`,
      name: "act-name",
      required: true,
      maxlength: "200",
      value: name,
      placeholder: "Act name",
    });
    const remove = h(
      "button",
      { class: "btn ghost remove", type: "button", "aria-label": "Remove this act", title: "Remove this act" },
      "✕",
    );
    const li = h(
      "li",
      { class: "act-edit" },
      h("label", { class: "sr-only", for: idInput.id }, "Act id"),
      idInput,
      h("label", { class: "sr-only", for: nameInput.id }, "Act name"),
      nameInput,
      remove,
    );
    remove.addEventListener("click", () => {
      if (this.rows.children.length <= 1) return; // a show needs at least one act
      this.#dirty = true;
      li.remove();
    });
    this.rows.append(li);
    return nameInput;
  }
}
