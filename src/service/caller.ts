import type { Caller } from "../domain/types.js";

/** The caller when authentication is off: owns nothing in particular and sees everything. */
export const anonymousCaller: Caller = Object.freeze({ subject: "", seesAll: true });
