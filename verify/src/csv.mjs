// @ts-check
/**
 * RFC 4180 records from text: fields separated by `,`, records by LF or CRLF; a field that starts
 * with `"` is quoted and runs to the next `"` not doubled, so it may hold `,` `"` (as `""`) CR and
 * LF. Anything else (a quote inside an unquoted field, text after a closing quote) is an error:
 * an export is never repaired, only accepted or refused.
 */

export class CsvError extends Error {
  /** @param {string} message @param {number} line 1-based line of the input where it went wrong */
  constructor(message, line) {
    super(`line ${line}: ${message}`);
    this.name = "CsvError";
    this.line = line;
  }
}

/**
 * Every record of `text` (which must end with a line break), each with the line it started on.
 * @param {string} text
 * @param {number} firstLine line number of text's first line in the file
 * @returns {Array<{ fields: string[], line: number }>}
 */
export function parseCsv(text, firstLine = 1) {
  /** @type {Array<{ fields: string[], line: number }>} */
  const out = [];
  let line = firstLine;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    /** @type {string[]} */
    const fields = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new CsvError("quoted field not closed", start);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          field += c;
          i++;
        }
        const after = text[i];
        if (after !== "," && after !== "\n" && !(after === "\r" && text[i + 1] === "\n") && i < n)
          throw new CsvError("text after a closing quote", line);
      } else {
        while (i < n && text[i] !== "," && text[i] !== "\n" && !(text[i] === "\r" && text[i + 1] === "\n")) {
          if (text[i] === '"') throw new CsvError("quote inside an unquoted field", line);
          field += text[i];
          i++;
        }
      }
      fields.push(field);
      if (i >= n) throw new CsvError("the last record does not end with a line break", line);
      if (text[i] === ",") {
        i++;
        continue;
      }
      i += text[i] === "\r" ? 2 : 1;
      line++;
      break;
    }
    out.push({ fields, line: start });
  }
  return out;
}
