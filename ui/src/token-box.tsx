import { useRef, useState } from "preact/hooks";
import type { roleOf } from "./api.js";

/** Where the operator enters a bearer token; shows the role it claims. */
export function TokenBox(props: {
  jwt: string;
  role: ReturnType<typeof roleOf>;
  onChange: (jwt: string) => void;
}) {
  const [value, setValue] = useState("");
  const details = useRef<HTMLDetailsElement>(null);
  const use = (jwt: string) => {
    props.onChange(jwt);
    setValue("");
    if (details.current) details.current.open = false;
  };
  return (
    <details class="token" ref={details}>
      <summary>
        {props.jwt ? `Signed in${props.role ? ` (${props.role})` : ""}` : "Access token"}
      </summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          use(value.trim());
        }}
      >
        <label for="token">Bearer token (JWT)</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <div class="actions">
          <button type="submit" class="primary">
            Use token
          </button>
          {props.jwt && (
            <button type="button" onClick={() => use("")}>
              Forget token
            </button>
          )}
        </div>
      </form>
    </details>
  );
}
