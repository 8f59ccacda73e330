// DOMException as browsers have it: an Error subclass with a name and a legacy numeric code.

const LEGACY_CODES: Readonly<Record<string, number>> = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

/** Names in use that have no legacy code. */
const MODERN_NAMES = new Set([
  "EncodingError",
  "NotReadableError",
  "UnknownError",
  "ConstraintError",
  "DataError",
  "TransactionInactiveError",
  "ReadOnlyError",
  "VersionError",
  "OperationError",
  "NotAllowedError",
]);

export class DOMException extends Error {
  readonly #name: string;

  constructor(message: unknown = "", options: unknown = "Error") {
    const dictionary =
      typeof options === "object" && options !== null
        ? (options as { name?: unknown; cause?: unknown })
        : null;
    const name: unknown = dictionary === null ? options : (dictionary.name ?? "Error");
    super(
      String(message),
      dictionary !== null && "cause" in dictionary ? { cause: dictionary.cause } : undefined,
    );
    this.#name = String(name);
  }

  override get name(): string {
    return this.#name;
  }

  get code(): number {
    return LEGACY_CODES[this.#name] ?? 0;
  }

  static isKnownName(name: string): boolean {
    return name in LEGACY_CODES || MODERN_NAMES.has(name);
  }
}

// The legacy constants (DOMException.ABORT_ERR === 20, …) some libraries still compare against.
for (const [name, code] of Object.entries(LEGACY_CODES)) {
  const constant = name
    .slice(0, -"Error".length)
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
  const descriptor = { value: code, enumerable: true };
  Object.defineProperty(DOMException, `${constant}_ERR`, descriptor);
  Object.defineProperty(DOMException.prototype, `${constant}_ERR`, descriptor);
}
Object.defineProperty(DOMException.prototype, Symbol.toStringTag, {
  value: "DOMException",
  configurable: true,
});
