import { normalizeKey } from "../domain/text.js";
import { customerFilterFields, type FilterExpr, type FilterFieldSet } from "./ast.js";
import {
  type Comparator,
  FilterSyntaxError,
  type QuotedValue,
  type Token,
  tokenize,
} from "./lexer.js";
import { parseTimestamp } from "./timestamp.js";

/** Each `(`, `NOT` and `-` opens a level; more than this many is refused. */
export const MAX_FILTER_DEPTH = 20;
/** Comparisons and search terms in one filter, at most. */
export const MAX_FILTER_TERMS = 100;

const INT32_MAX = 2 ** 31 - 1;

/**
 * Parses the AIP-160 subset of the contract into a typed tree; undefined for an empty
 * filter. Throws {@link FilterSyntaxError} naming the 1-based position of the problem.
 *
 * Grammar (AIP-160: juxtaposition and AND are conjunction, OR binds tighter than both):
 *   expression = sequence { "AND" sequence }
 *   sequence   = factor { factor }
 *   factor     = term { "OR" term }
 *   term       = [ "NOT" | "-" ] simple
 *   simple     = "(" expression ")" | field comparator value | value
 */
export function parseFilterExpression(
  text: string,
  fields: FilterFieldSet = customerFilterFields,
): FilterExpr | undefined {
  const parser = new Parser(tokenize(text), fields);
  if (parser.peek().kind === "end") return undefined;
  const expr = parser.expression(0);
  const next = parser.peek();
  if (next.kind !== "end") {
    throw next.kind === "rparen"
      ? new FilterSyntaxError('unexpected ")" with no "(" to close', next.pos)
      : new FilterSyntaxError(`unexpected ${describe(next)}`, next.pos);
  }
  return expr;
}

class Parser {
  private index = 0;
  private terms = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly fields: FilterFieldSet,
  ) {}

  peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private take(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.index++;
    return token;
  }

  expression(depth: number): FilterExpr {
    const operands = [this.sequence(depth)];
    while (isKeyword(this.peek(), "AND")) {
      this.take();
      operands.push(this.sequence(depth));
    }
    return combine("and", operands);
  }

  private sequence(depth: number): FilterExpr {
    const operands = [this.factor(depth)];
    while (startsTerm(this.peek())) operands.push(this.factor(depth));
    return combine("and", operands);
  }

  private factor(depth: number): FilterExpr {
    const operands = [this.term(depth)];
    while (isKeyword(this.peek(), "OR")) {
      this.take();
      operands.push(this.term(depth));
    }
    return combine("or", operands);
  }

  private term(depth: number): FilterExpr {
    const token = this.peek();
    if (isKeyword(token, "NOT")) {
      this.take();
      return { kind: "not", operand: this.term(this.deeper(depth, token.pos)) };
    }
    if (token.kind === "text" && token.text.startsWith("-")) {
      // `-x` negates x; the rest of the word is read as a term of its own.
      const rest = token.text.slice(1);
      const inner = this.deeper(depth, token.pos);
      if (rest === "") {
        this.take();
      } else {
        this.tokens[this.index] = { ...token, pos: token.pos + 1, text: rest };
      }
      return { kind: "not", operand: this.term(inner) };
    }
    return this.simple(depth);
  }

  private simple(depth: number): FilterExpr {
    const token = this.take();
    if (token.kind === "lparen") {
      const expr = this.expression(this.deeper(depth, token.pos));
      const close = this.take();
      if (close.kind !== "rparen") {
        throw new FilterSyntaxError(
          `expected ")" to close the "(" at ${token.pos}, found ${describe(close)}`,
          close.pos,
        );
      }
      return expr;
    }
    if (token.kind !== "text" && token.kind !== "string") {
      throw new FilterSyntaxError(
        `expected a comparison or a value, found ${describe(token)}`,
        token.pos,
      );
    }
    this.countTerm(token.pos);
    const comparator = this.peek();
    if (comparator.kind !== "comparator") {
      const text = token.kind === "text" ? token.text : token.value.literal;
      if (!this.fields.terms) {
        throw new FilterSyntaxError(
          `"${clip(text)}" is not a comparison`,
          token.pos,
          `: write field = value, with fields ${allFields(this.fields).join(", ")}`,
        );
      }
      return { kind: "term", text: normalizeKey(text) };
    }
    this.take();
    if (token.kind === "string") {
      throw new FilterSyntaxError(
        `a comparison needs a field name before "${comparator.op}", not a quoted string`,
        token.pos,
      );
    }
    const field = fieldNamed(token.text, token.pos, this.fields);
    const value = this.take();
    if (value.kind !== "text" && value.kind !== "string") {
      throw new FilterSyntaxError(
        `expected a value after "${comparator.op}", found ${describe(value)}`,
        value.pos,
      );
    }
    return comparison(field, comparator.op, value, this.fields);
  }

  private deeper(depth: number, pos: number): number {
    if (depth + 1 > MAX_FILTER_DEPTH) {
      throw new FilterSyntaxError(`nested more than ${MAX_FILTER_DEPTH} levels deep`, pos);
    }
    return depth + 1;
  }

  private countTerm(pos: number) {
    if (++this.terms > MAX_FILTER_TERMS) {
      throw new FilterSyntaxError(`more than ${MAX_FILTER_TERMS} comparisons and terms`, pos);
    }
  }
}

type ValueToken = Extract<Token, { kind: "text" | "string" }>;

function comparison(
  field: string,
  op: Comparator,
  token: ValueToken,
  fields: FilterFieldSet,
): FilterExpr {
  const isNumberField = fields.number.includes(field);
  if (fields.text.includes(field)) return textComparison(field, op, comparedValue(token));
  if (op === ":") {
    const type = isNumberField ? "an integer" : "a timestamp";
    throw new FilterSyntaxError(
      `":" cannot be used on "${field}" (${type})`,
      token.pos,
      "; use = != < <= > >=",
    );
  }
  if (isNumberField) {
    const text = token.kind === "text" ? token.text : undefined;
    if (text === undefined || !/^-?\d+$/.test(text)) {
      throw new FilterSyntaxError(
        `"${field}" is compared with an unquoted integer, not ${describe(token)}`,
        token.pos,
      );
    }
    const value = Number(text);
    if (Math.abs(value) > INT32_MAX) {
      throw new FilterSyntaxError(`integer ${clip(text)} is out of range`, token.pos);
    }
    return { kind: "number", field, op, value };
  }
  if (token.kind !== "string") {
    throw new FilterSyntaxError(
      `"${field}" is compared with a quoted RFC 3339 timestamp such as "2024-01-31T09:30:00Z", not ${describe(token)}`,
      token.pos,
    );
  }
  const value = parseTimestamp(token.value.literal);
  if (value === undefined) {
    throw new FilterSyntaxError(
      `invalid timestamp "${clip(token.value.literal)}"`,
      token.pos,
      ': expected RFC 3339 such as "2024-01-31T09:30:00Z" or "2024-01-31T11:30:00.5+02:00"',
    );
  }
  return { kind: "time", field, op, value };
}

function textComparison(field: string, op: Comparator, value: QuotedValue): FilterExpr {
  if (op === ":") {
    // Only an unescaped lone star means "has a value"; `"\*"` is a star like any character.
    if (value.literal === "*" && value.leadingStar) {
      return { kind: "text_match", field, match: "present", value: "" };
    }
    return { kind: "text_match", field, match: "contains", value: normalizeKey(value.literal) };
  }
  if (op === "=" || op === "!=") {
    const match =
      value.core === "" && (value.leadingStar || value.trailingStar)
        ? "present"
        : value.leadingStar && value.trailingStar
          ? "contains"
          : value.leadingStar
            ? "suffix"
            : value.trailingStar
              ? "prefix"
              : "equals";
    const expr: FilterExpr = {
      kind: "text_match",
      field,
      match,
      value: normalizeKey(match === "present" ? "" : value.core),
    };
    return op === "=" ? expr : { kind: "not", operand: expr };
  }
  return { kind: "text_order", field, op, value: normalizeKey(value.literal) };
}

/** A bare word as a value: unquoted, no escapes, `*` at its ends still a wildcard. */
function comparedValue(token: ValueToken): QuotedValue {
  if (token.kind === "string") return token.value;
  const literal = token.text;
  const core = literal.replace(/^\*+/, "").replace(/\*+$/, "");
  const leadingStar = literal.startsWith("*");
  return {
    literal,
    core,
    leadingStar,
    trailingStar: literal.endsWith("*") && (core !== "" || leadingStar),
  };
}

const allFields = (fields: FilterFieldSet) => [...fields.text, ...fields.number, ...fields.time];

function fieldNamed(name: string, pos: number, fields: FilterFieldSet): string {
  const names = allFields(fields);
  if (names.includes(name)) return name;
  const suggestion = closestField(name, names);
  throw new FilterSyntaxError(
    `unknown field "${clip(name)}"`,
    pos,
    suggestion ? `, did you mean "${suggestion}"?` : `; fields are ${names.join(", ")}`,
  );
}

/** The field within two edits of `name` (ignoring case), if there is one. */
function closestField(name: string, names: readonly string[]): string | undefined {
  let best: { field: string; distance: number } | undefined;
  for (const field of names) {
    const distance = editDistance(name.toLowerCase(), field);
    if (distance <= 2 && (!best || distance < best.distance)) best = { field, distance };
  }
  return best?.field;
}

/** Levenshtein distance; names are short, so the plain table is fine. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        substitution,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function combine(kind: "and" | "or", operands: FilterExpr[]): FilterExpr {
  return operands.length === 1 ? (operands[0] as FilterExpr) : { kind, operands };
}

const isKeyword = (token: Token, word: "AND" | "OR" | "NOT") =>
  token.kind === "keyword" && token.word === word;

const startsTerm = (token: Token) =>
  token.kind === "text" ||
  token.kind === "string" ||
  token.kind === "lparen" ||
  isKeyword(token, "NOT");

function describe(token: Token): string {
  switch (token.kind) {
    case "end":
      return "the end of the filter";
    case "lparen":
      return '"("';
    case "rparen":
      return '")"';
    case "comparator":
      return `"${token.op}"`;
    case "keyword":
      return token.word;
    case "text":
      return `"${clip(token.text)}"`;
    case "string":
      return "a quoted string";
  }
}

/** Echoes at most 40 characters of the caller's text back in a message. */
const clip = (text: string) => {
  const chars = Array.from(text);
  return chars.length > 40 ? `${chars.slice(0, 40).join("")}…` : text;
};
