import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "short" });
export const formatTime = (t: Timestamp | undefined) =>
  t ? dateTime.format(timestampDate(t)) : "";
export const formatCount = (n: number) => n.toLocaleString();
