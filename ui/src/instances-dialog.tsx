import type { Customer, ServiceInstance } from "../../gen/customerinventory/v1/resources_pb.js";
import { api, describeProblem, problemOf } from "./api.js";
import { Dialog } from "./dialog.js";
import { formatTime } from "./format.js";
import { Pager } from "./pager.js";
import { usePagedList } from "./use-paged-list.js";

const PAGE_SIZE = 10;

/** The service instances of one customer, a page at a time. */
export function InstancesDialog(props: {
  customer: Customer;
  highlight?: string;
  onClose: () => void;
}) {
  const list = usePagedList<ServiceInstance>({
    fetch: (pageToken) =>
      api
        .listServiceInstances({ customerId: props.customer.id, pageSize: PAGE_SIZE, pageToken })
        .then((r) => ({ items: r.serviceInstances, next: r.nextPageToken, total: r.totalSize })),
    query: props.customer.id,
    pageSize: PAGE_SIZE,
  });
  const error = list.error === undefined ? undefined : describeProblem(problemOf(list.error));
  // Each page is shown once it is in, not the one before it.
  const page = list.loading ? undefined : list.page;

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
          <Pager label="Service instance pages" list={list} page={page} />
        </>
      )}
    </Dialog>
  );
}
