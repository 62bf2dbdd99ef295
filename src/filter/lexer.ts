/**
 * Tokens of the AIP-160 filter subset. Positions are 1-based and count Unicode code points,
 * as the contract's error messages (`at N`) do.
 */
export type Token =
  | { kind: "lparen"; pos: number }
  | { kind: "rparen"; pos: number }
  | { kind: "comparator"; pos: number; op: Comparator }
  | { kind: "keyword"; pos: number; word: "AND" | "OR" | "NOT" }
  /** A bare word: a field name, a number, an unquoted value or search term. */
  | { kind: "text"; pos: number; text: string; end: number }
  /** A quoted string with its escapes resolved. */
  | { kind: "string"; pos: number; value: QuotedValue; end: number }
  | { kind: "end"; pos: number };

export type Comparator = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":";

/**
 * A quoted value. `*` is a wildcard only unescaped at either end of an `=` or `!=` value, so
 * the lexer keeps those apart from the literal text between them.
 */
export interface QuotedValue {
  /** The text between the quotes with escapes resolved; every `*` literal. */
  literal: string;
  /** The text without an unescaped `*` at the start and at the end. */
  core: string;
  leadingStar: boolean;
  trailingStar: boolean;
}

export class FilterSyntaxError extends Error {
  override readonly name = "FilterSyntaxError";
  constructor(
    /** What went wrong, without the position. */
    readonly problem: string,
    /** 1-based code point position. */
    readonly pos: number,
    /** Appended after the position, e.g. a suggestion. */
    readonly hint = "",
  ) {
    super(`${problem} at ${pos}${hint}`);
  }
}

// White space as String.prototype.trim() defines it.
const isSpace = (c: string) => /^[\s\ufeff]$/u.test(c);
// Control characters other than white space, and bidi controls, are refused anywhere.
const isForbidden = (c: string) => /^[\p{Cc}\u202a-\u202e\u2066-\u2069]$/u.test(c) && !isSpace(c);
const isTextChar = (c: string) => !isSpace(c) && !"()\"'=<>!:".includes(c) && !isForbidden(c);

const ESCAPABLE = new Set(['"', "'", "\\", "*"]);
const KEYWORDS = new Set(["AND", "OR", "NOT"]);

/** Splits filter text into tokens, ending with an `end` token. */
export function tokenize(text: string): Token[] {
  const chars = Array.from(text);
  const tokens: Token[] = [];
  let i = 0;
  const at = (index: number) => chars[index] ?? "";
  while (i < chars.length) {
    const c = at(i);
    const pos = i + 1;
    if (isSpace(c)) {
      i++;
    } else if (isForbidden(c)) {
      throw new FilterSyntaxError(`control character U+${codeOf(c)} is not allowed`, pos);
    } else if (c === "(" || c === ")") {
      tokens.push({ kind: c === "(" ? "lparen" : "rparen", pos });
      i++;
    } else if (c === "<" || c === ">" || c === "!") {
      const twoChar = at(i + 1) === "=";
      if (c === "!" && !twoChar) {
        throw new FilterSyntaxError('unexpected "!"', pos, '; use "!=" or NOT');
      }
      const op = (twoChar ? `${c}=` : c) as Comparator;
      tokens.push({ kind: "comparator", pos, op });
      i += twoChar ? 2 : 1;
    } else if (c === "=" || c === ":") {
      tokens.push({ kind: "comparator", pos, op: c });
      i++;
    } else if (c === '"' || c === "'") {
      requireSpaceBefore(tokens, pos);
      const [value, next] = readQuoted(chars, i);
      tokens.push({ kind: "string", pos, value, end: next + 1 });
      i = next;
    } else {
      requireSpaceBefore(tokens, pos);
      let end = i;
      while (end < chars.length && isTextChar(at(end))) end++;
      const word = chars.slice(i, end).join("");
      if (at(end) === "(" && !KEYWORDS.has(word) && word !== "-") {
        // AIP-160 calls functions as name(args); this service has none.
        throw new FilterSyntaxError(
          `unknown function "${word}"`,
          pos,
          "; no functions are supported",
        );
      }
      if (KEYWORDS.has(word)) {
        tokens.push({ kind: "keyword", pos, word: word as "AND" | "OR" | "NOT" });
      } else {
        tokens.push({ kind: "text", pos, text: word, end: end + 1 });
      }
      i = end;
    }
  }
  tokens.push({ kind: "end", pos: chars.length + 1 });
  return tokens;
}

/**
 * Values follow each other only with white space between them (AIP-160: factors of a
 * sequence are separated by WS): `x'1'` is an error, not the two terms x and 1.
 */
function requireSpaceBefore(tokens: Token[], pos: number) {
  const previous = tokens[tokens.length - 1];
  const adjacent =
    (previous?.kind === "text" && previous.text !== "-") || previous?.kind === "string";
  if (adjacent && previous.end === pos) {
    throw new FilterSyntaxError("expected white space or an operator", pos);
  }
}

/** Reads the quoted string that opens at `start`; returns it and the index after it. */
function readQuoted(chars: string[], start: number): [QuotedValue, number] {
  const quote = chars[start];
  let literal = "";
  let core = "";
  let pendingStars = ""; // unescaped stars not yet known to be trailing
  let leadingStar = false;
  let sawContent = false;
  let i = start + 1;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === quote) {
      const trailingStar = pendingStars.length > 0;
      if (!sawContent) {
        // Only stars (or nothing): a wildcard on its own.
        return [
          { literal, core: "", leadingStar, trailingStar: trailingStar || leadingStar },
          i + 1,
        ];
      }
      return [{ literal, core, leadingStar, trailingStar }, i + 1];
    }
    if (isForbidden(c)) {
      throw new FilterSyntaxError(`control character U+${codeOf(c)} is not allowed`, i + 1);
    }
    let char = c;
    let escaped = false;
    if (c === "\\") {
      const next = chars[i + 1];
      if (next === undefined) break;
      if (!ESCAPABLE.has(next)) {
        throw new FilterSyntaxError(
          `invalid escape "\\${next}"`,
          i + 1,
          `; only \\", \\', \\\\ and \\* are allowed`,
        );
      }
      char = next;
      escaped = true;
      i++;
    }
    literal += char;
    if (char === "*" && !escaped) {
      if (!sawContent) leadingStar = true;
      else pendingStars += "*";
    } else {
      core += pendingStars + char;
      pendingStars = "";
      sawContent = true;
    }
    i++;
  }
  throw new FilterSyntaxError(`unterminated string (missing ${quote})`, start + 1);
}

const codeOf = (c: string) => (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
