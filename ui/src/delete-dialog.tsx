import { Code } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
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
            {problem.blockers.map((b) => (
              <li key={b.id}>
                <a
                  href={`#instances/${customer.id}/${b.id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    props.onShowInstances(customer, b.id);
                  }}
                >
                  Service instance {b.id}
                </a>
              </li>
            ))}
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
