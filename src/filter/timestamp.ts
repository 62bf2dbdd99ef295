const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number) =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/**
 * Checks an RFC 3339 date-time (any offset, `T` or `t`, up to nanoseconds) and returns it
 * in a form PostgreSQL reads as timestamptz, cut to microseconds (PostgreSQL's precision);
 * undefined when it is not one. Years 0001-9999; no leap seconds.
 */
export function parseTimestamp(text: string): string | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction = "", zulu, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (!zulu && (Number(oh) > 23 || Number(om) > 59)) return undefined;
  const micros = fraction.slice(0, 6).padEnd(6, "0");
  const offset = zulu ? "+00:00" : `${sign}${oh}:${om}`;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${micros}${offset}`;
}

/** Microseconds since the epoch of a timestamp as {@link parseTimestamp} returns it. */
export function timestampMicros(normalized: string): bigint {
  const m = /^(.*:\d\d)\.(\d{6})(.*)$/.exec(normalized);
  if (!m) throw new Error(`not a normalized timestamp: ${normalized}`);
  const [, head, fraction = "", offset] = m;
  return BigInt(Date.parse(`${head}${offset}`)) * 1000n + BigInt(fraction);
}
