import { Code } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import type { Customer, ServiceInstance } from "../../gen/customerinventory/v1/resources_pb.js";
import { api, describeProblem, type Problem, problemOf } from "./api.js";
import { Dialog } from "./dialog.js";

/** Asks before deleting; a refusal lists the service instances that block it. */
export function DeleteDialog(props: {
  customer: Customer;
  onDeleted: () => void;
  onShowInstances: (customer: Customer, highlight: string) => void;
  onClose: () => void;
}) {
  const [problem, setProblem] = useState<Problem>();
  const [deleting, setDeleting] = useState(false);
  const { customer } = props;

  async function remove() {
    setDeleting(true);
    try {
      await api.deleteCustomer({ id: customer.id, etag: customer.etag });
      props.onDeleted();
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setDeleting(false);
    }
  }

  const blocked = problem?.code === Code.FailedPrecondition;
  // The refusal names the blocking instances (the oldest first, as the customer's list is
  // ordered); their names and types are one call away.
  const [named, setNamed] = useState<Map<string, ServiceInstance>>(new Map());
  const blockerCount = blocked ? problem.blockers.length : 0;
  useEffect(() => {
    if (blockerCount === 0) return;
    let current = true;
    api
      .listServiceInstances({ customerId: customer.id, pageSize: blockerCount })
      .then(({ serviceInstances }) => {
        if (current) setNamed(new Map(serviceInstances.map((i) => [i.id, i])));
      })
      .catch(() => {}); // the ids alone still say what blocks the delete
    return () => {
      current = false;
    };
  }, [blockerCount, customer.id]);
  return (
    <Dialog title={`Delete ${customer.name}?`} onClose={props.onClose}>
      {!problem && (
        <p>
          The customer <strong>{customer.name}</strong> ({customer.id}) will be deleted. This cannot
          be undone.
        </p>
      )}
      {blocked && (
        <div class="error" role="alert">
          <p>
            {customer.name} cannot be deleted: it still has{" "}
            {problem.blockers.length === 1 ? "a " : ""}
            service instance{problem.blockers.length === 1 ? "" : "s"}. Delete{" "}
            {problem.blockers.length === 1 ? "it" : "them"} first.
          </p>
          <ul class="blockers">
            {problem.blockers.map((b) => {
              const instance = named.get(b.id);
              return (
                <li key={b.id}>
                  <a
                    href={`#instances/${customer.id}/${b.id}`}
                    onClick={(e) => {
                      e.preventDefault();
                      props.onShowInstances(customer, b.id);
                    }}
                  >
                    {instance ? `${instance.name} (${instance.serviceType})` : "Service instance"}
                  </a>{" "}
                  <span class="mono">{b.id}</span>
                </li>
              );
            })}
          </ul>
        </div>
      )}
      {problem && !blocked && (
        <p class="error" role="alert">
          {describeProblem(problem)}
        </p>
      )}
      <div class="actions">
        <button type="button" onClick={props.onClose}>
          {problem ? "Close" : "Cancel"}
        </button>
        {!problem && (
          <button type="button" class="danger" disabled={deleting} onClick={remove}>
            {deleting ? "Deleting…" : "Delete"}
          </button>
        )}
      </div>
    </Dialog>
  );
}
