import { useEffect, useState } from "preact/hooks";
import type { Customer, ServiceInstance } from "../../gen/customerinventory/v1/resources_pb.js";
import { api, describeProblem, problemOf } from "./api.js";
import { Dialog } from "./dialog.js";
import { formatTime } from "./format.js";
import { Pager } from "./pager.js";

const PAGE_SIZE = 10;

/** The service instances of one customer, a page at a time. */
export function InstancesDialog(props: {
  customer: Customer;
  highlight?: string;
  onClose: () => void;
}) {
  const [tokens, setTokens] = useState<string[]>([""]);
  const [page, setPage] = useState<{ items: ServiceInstance[]; next: string; total: number }>();
  const [error, setError] = useState<string>();
  const token = tokens[tokens.length - 1] ?? "";

  useEffect(() => {
    let current = true;
    setPage(undefined);
    api
      .listServiceInstances({
        customerId: props.customer.id,
        pageSize: PAGE_SIZE,
        pageToken: token,
      })
      .then(
        (r) => {
          if (!current) return;
          setError(undefined);
          setPage({ items: r.serviceInstances, next: r.nextPageToken, total: r.totalSize });
        },
        (err) => current && setError(describeProblem(problemOf(err))),
      );
    return () => {
      current = false;
    };
  }, [props.customer.id, token]);

  const first = (tokens.length - 1) * PAGE_SIZE + 1;
  return (
    <Dialog title={`Service instances of ${props.customer.name}`} onClose={props.onClose} wide>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!page && !error && <p class="status">Loading…</p>}
      {page && page.items.length === 0 && (
        <p class="status">This customer has no service instances.</p>
      )}
      {page && page.items.length > 0 && (
        <>
          <table class="instances">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Created</th>
                <th scope="col">ID</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((i) => (
                <tr
                  key={i.id}
                  id={`instance-${i.id}`}
                  class={i.id === props.highlight ? "highlight" : undefined}
                >
                  <td>{i.name}</td>
                  <td>{i.serviceType}</td>
                  <td>{formatTime(i.createTime)}</td>
                  <td class="mono">{i.id}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            label="Service instance pages"
            first={first}
            shown={page.items.length}
            total={page.total}
            page={tokens.length}
            hasNext={Boolean(page.next)}
            onPrevious={() => setTokens(tokens.slice(0, -1))}
            onNext={() => setTokens([...tokens, page.next])}
          />
        </>
      )}
    </Dialog>
  );
}
