// Body encodings of FormData: multipart/form-data (serialize and parse) and
// application/x-www-form-urlencoded (parse; URLSearchParams serializes itself).
import { File, blobBytes, fileFromBytes } from "./blob.js";
import { concatBytes, indexOfBytes } from "./bytes.js";
import { utf8Decode, utf8Encode } from "./encoding.js";
import { FormData } from "./form-data.js";
import { URLSearchParams } from "./url.js";

const CRLF = utf8Encode("\r\n");
const HEADER_END = utf8Encode("\r\n\r\n");

export function newBoundary(): string {
  let random = "";
  for (let i = 0; i < 4; i++)
    random += Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, "0");
  return `----litefaas${random}`;
}

export function serializeMultipart(form: FormData, boundary: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const [name, value] of form) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"`;
    if (value instanceof File) {
      head += `; filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}`;
    }
    chunks.push(utf8Encode(`${head}\r\n\r\n`));
    chunks.push(
      value instanceof File
        ? blobBytes(value)
        : utf8Encode(value.replace(/\r(?!\n)|(?<!\r)\n/g, "\r\n")),
    );
    chunks.push(CRLF);
  }
  chunks.push(utf8Encode(`--${boundary}--\r\n`));
  return concatBytes(chunks);
}

/** Parse a body by its media type into FormData; TypeError when it is neither form encoding. */
export function parseFormBody(bytes: Uint8Array, contentType: string | null): FormData {
  const essence = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (essence === "application/x-www-form-urlencoded") {
    const form = new FormData();
    for (const [name, value] of new URLSearchParams(utf8Decode(bytes))) form.append(name, value);
    return form;
  }
  if (essence === "multipart/form-data") {
    const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
    const value = boundary?.[1] ?? boundary?.[2];
    if (value === undefined) throw new TypeError("multipart/form-data body has no boundary");
    return parseMultipart(bytes, value);
  }
  throw new TypeError(`Cannot parse a body of type "${contentType ?? ""}" as FormData`);
}

function parseMultipart(bytes: Uint8Array, boundary: string): FormData {
  const form = new FormData();
  const delimiter = utf8Encode(`--${boundary}`);
  const nextDelimiter = utf8Encode(`\r\n--${boundary}`);
  let at = indexOfBytes(bytes, delimiter);
  if (at === -1) throw malformed("no boundary found");
  at += delimiter.length;
  for (;;) {
    if (bytes[at] === 0x2d && bytes[at + 1] === 0x2d) return form; // "--": the closing delimiter
    at = skipLinearWhitespace(bytes, at);
    if (bytes[at] !== 0x0d || bytes[at + 1] !== 0x0a)
      throw malformed("expected CRLF after a boundary");
    const headersEnd = indexOfBytes(bytes, HEADER_END, at);
    // A part with no headers has its blank line straight after the boundary's CRLF.
    const blankAt = bytes[at + 2] === 0x0d && bytes[at + 3] === 0x0a ? at : headersEnd;
    if (blankAt === -1) throw malformed("part headers do not end");
    const headers = utf8Decode(bytes.subarray(at + 2, blankAt));
    const bodyStart = blankAt + 4;
    const bodyEnd = indexOfBytes(bytes, nextDelimiter, bodyStart);
    if (bodyEnd === -1) throw malformed("part does not end with a boundary");
    appendPart(form, headers, bytes.subarray(bodyStart, bodyEnd));
    at = bodyEnd + nextDelimiter.length;
  }
}

function appendPart(form: FormData, headers: string, body: Uint8Array): void {
  let disposition = "";
  let type = "";
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-disposition") disposition = value;
    else if (name === "content-type") type = value;
  }
  const name = dispositionParam(disposition, "name");
  if (name === undefined) throw malformed("part has no name");
  const filename = dispositionParam(disposition, "filename");
  if (filename === undefined) form.append(name, utf8Decode(body));
  else form.append(name, fileFromBytes(body.slice(), filename, type || "text/plain"));
}

function dispositionParam(disposition: string, param: string): string | undefined {
  const match = new RegExp(`;\\s*${param}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i").exec(
    disposition,
  );
  if (match === null) return undefined;
  const quoted = match[1];
  return quoted === undefined ? (match[2] ?? "") : unescapeName(quoted);
}

function escapeName(name: string): string {
  return name.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
}

function unescapeName(name: string): string {
  return name
    .replace(/%0D/gi, "\r")
    .replace(/%0A/gi, "\n")
    .replace(/%22/g, '"')
    .replace(/\\(.)/g, "$1");
}

function skipLinearWhitespace(bytes: Uint8Array, at: number): number {
  let i = at;
  while (bytes[i] === 0x20 || bytes[i] === 0x09) i++;
  return i;
}

function malformed(reason: string): TypeError {
  return new TypeError(`Malformed multipart/form-data body: ${reason}`);
}
