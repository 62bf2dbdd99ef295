import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  ChangeKind,
  type Customer,
  type CustomerChange,
} from "../../gen/customerinventory/v1/resources_pb.js";
import { api, describeProblem, problemOf } from "./api.js";
import { Dialog } from "./dialog.js";
import { Pager } from "./pager.js";
import { usePagedList } from "./use-paged-list.js";

const PAGE_SIZE = 20;

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

const whatHappened: Record<ChangeKind, string> = {
  [ChangeKind.UNSPECIFIED]: "Changed",
  [ChangeKind.CUSTOMER_CREATED]: "Created",
  [ChangeKind.CUSTOMER_UPDATED]: "Updated",
  [ChangeKind.CUSTOMER_DELETED]: "Deleted",
  [ChangeKind.SERVICE_INSTANCE_CREATED]: "Service instance added",
  [ChangeKind.SERVICE_INSTANCE_DELETED]: "Service instance removed",
};

const fieldLabels: Record<string, string> = {
  name: "Name",
  reference_number: "Reference number",
  description: "Description",
};

type Field = "name" | "referenceNumber" | "description";
const fieldOf: Record<string, Field> = {
  name: "name",
  reference_number: "referenceNumber",
  description: "description",
};

const shown = (value: string) => (value === "" ? "(none)" : value);

/** What a change did, field by field. */
function Details({ change }: { change: CustomerChange }) {
  const { customer, previousCustomer, serviceInstance } = change;
  if (change.kind === ChangeKind.CUSTOMER_UPDATED && customer && previousCustomer) {
    return (
      <ul class="changes">
        {change.changedFields.map((field) => {
          const key = fieldOf[field] as Field;
          return (
            <li key={field}>
              <span class="field-name">{fieldLabels[field] ?? field}</span>:{" "}
              <del>{shown(previousCustomer[key])}</del> → <ins>{shown(customer[key])}</ins>
            </li>
          );
        })}
      </ul>
    );
  }
  if (serviceInstance) {
    return (
      <p>
        {serviceInstance.name} ({serviceInstance.serviceType}){" "}
        <span class="mono">{serviceInstance.id}</span>
      </p>
    );
  }
  if (change.kind === ChangeKind.CUSTOMER_CREATED && customer) {
    return (
      <ul class="changes">
        {(["name", "reference_number", "description"] as const).map((field) => (
          <li key={field}>
            <span class="field-name">{fieldLabels[field]}</span>:{" "}
            <ins>{shown(customer[fieldOf[field] as Field])}</ins>
          </li>
        ))}
      </ul>
    );
  }
  return null;
}

/** Who changed one customer, when, and from what to what: newest first. */
export function HistoryDialog(props: { customer: Customer; reload: unknown; onClose: () => void }) {
  const list = usePagedList<CustomerChange>({
    fetch: (pageToken) =>
      api
        .listCustomerChanges({ customerId: props.customer.id, pageSize: PAGE_SIZE, pageToken })
        .then((r) => ({ items: r.changes, next: r.nextPageToken })),
    query: props.customer.id,
    pageSize: PAGE_SIZE,
    reload: props.reload,
  });
  const error = list.error === undefined ? undefined : describeProblem(problemOf(list.error));
  const { page } = list;

  return (
    <Dialog title={`History of ${props.customer.name}`} onClose={props.onClose} wide>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!page && !error && <p class="status">Loading…</p>}
      {page && page.items.length === 0 && <p class="status">No recorded changes.</p>}
      {page && page.items.length > 0 && (
        <>
          <table class="history">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((c) => (
                <tr key={String(c.sequence)} data-kind={ChangeKind[c.kind]}>
                  <td>{c.changeTime ? when.format(timestampDate(c.changeTime)) : ""}</td>
                  <td>{c.actor || "—"}</td>
                  <td>{whatHappened[c.kind]}</td>
                  <td>
                    <Details change={c} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager label="History pages" list={list} page={page} />
        </>
      )}
    </Dialog>
  );
}
