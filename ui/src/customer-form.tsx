import { useState } from "preact/hooks";
import type { Customer } from "../../gen/customerinventory/v1/resources_pb.js";
import { api, describeProblem, type Problem, problemOf } from "./api.js";
import { Dialog } from "./dialog.js";

const fieldsOf = (c?: Customer) => ({
  name: c?.name ?? "",
  referenceNumber: c?.referenceNumber ?? "",
  description: c?.description ?? "",
});

const paths = { name: "name", referenceNumber: "reference_number", description: "description" };
type Field = keyof typeof paths;
const fields = Object.keys(paths) as Field[];

/** What `problem` says about one field: its BadRequest violation, or that its value is taken. */
function fieldErrorIn(problem: Problem | undefined, field: Field): string | undefined {
  if (!problem) return undefined;
  const fromBadRequest = problem.fields[`customer.${paths[field]}`];
  if (fromBadRequest) return fromBadRequest;
  if (problem.reason === "CUSTOMER_NAME_TAKEN" && field === "name") return problem.message;
  if (problem.reason === "REFERENCE_NUMBER_TAKEN" && field === "referenceNumber") {
    return problem.message;
  }
  return undefined;
}

/** Add a customer, or edit one: only the changed fields are sent, with the etag read. */
export function CustomerForm(props: {
  customer?: Customer;
  onSaved: (customer: Customer) => void;
  onClose: () => void;
}) {
  const original = fieldsOf(props.customer);
  const [values, setValues] = useState(original);
  const [problem, setProblem] = useState<Problem>();
  const [saving, setSaving] = useState(false);
  const editing = props.customer !== undefined;

  const fieldError = (field: Field) => fieldErrorIn(problem, field);
  const general = problem && !fields.some(fieldError) ? describeProblem(problem) : undefined;

  async function submit(e: Event) {
    e.preventDefault();
    setSaving(true);
    setProblem(undefined);
    try {
      if (props.customer) {
        const changed = fields.filter((f) => values[f] !== original[f]);
        if (changed.length === 0) {
          props.onClose();
          return;
        }
        const { customer } = await api.updateCustomer({
          customer: { id: props.customer.id, etag: props.customer.etag, ...values },
          updateMask: { paths: changed.map((f) => paths[f]) },
        });
        if (customer) props.onSaved(customer);
      } else {
        const { customer } = await api.createCustomer({
          customer: values,
          requestId: crypto.randomUUID(),
        });
        if (customer) props.onSaved(customer);
      }
    } catch (err) {
      const p = problemOf(err);
      setProblem(p);
      const first = fields.find((f) => fieldErrorIn(p, f));
      if (first) document.getElementById(`customer-${first}`)?.focus();
    } finally {
      setSaving(false);
    }
  }

  const input = (field: Field, label: string, multiline = false) => {
    // showModal() focuses the autofocus control: typing starts at the name.
    const error = fieldError(field);
    const common = {
      id: `customer-${field}`,
      name: field,
      autofocus: field === "name",
      value: values[field],
      "aria-invalid": error ? true : undefined,
      "aria-describedby": error ? `customer-${field}-error` : undefined,
      onInput: (e: Event) =>
        setValues({ ...values, [field]: (e.currentTarget as HTMLInputElement).value }),
    };
    return (
      <div class="field">
        <label for={common.id}>{label}</label>
        {multiline ? <textarea rows={4} {...common} /> : <input type="text" {...common} />}
        {error && (
          <p class="field-error" id={`customer-${field}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  };

  return (
    <Dialog
      title={editing ? `Edit ${props.customer?.name}` : "Add customer"}
      onClose={props.onClose}
    >
      <form onSubmit={submit} noValidate>
        {input("name", "Name")}
        {input("referenceNumber", "Reference number")}
        {input("description", "Description", true)}
        {general && (
          <p class="error" role="alert">
            {general}
          </p>
        )}
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={saving}>
            {saving ? "Saving…" : editing ? "Save" : "Add customer"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
