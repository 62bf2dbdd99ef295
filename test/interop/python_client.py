"""A Python gRPC client of the service, for the interop test (test/interop/python.test.ts).

Run with Debian's python3 (python3-grpcio, python3-protobuf) and the code protoc generated into
the directory given as the first argument. Prints one JSON object with what it saw.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
target = sys.argv[2]

import grpc  # noqa: E402
from customerinventory.v1 import customer_inventory_service_pb2 as inventory  # noqa: E402
from customerinventory.v1 import customer_inventory_service_pb2_grpc as inventory_grpc  # noqa: E402
from customerinventory.v1 import resources_pb2 as resources  # noqa: E402
from customerinventory.v1 import service_instance_service_pb2 as instances  # noqa: E402
from customerinventory.v1 import service_instance_service_pb2_grpc as instances_grpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402


def details_of(err):
    """The google.rpc.Status details of an error, unpacked by type."""
    out = {}
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for any_detail in status.details:
                for cls in (error_details_pb2.ErrorInfo, error_details_pb2.PreconditionFailure,
                            error_details_pb2.BadRequest):
                    if any_detail.Is(cls.DESCRIPTOR):
                        detail = cls()
                        any_detail.Unpack(detail)
                        out[cls.DESCRIPTOR.name] = detail
    return out


with grpc.insecure_channel(target) as channel:
    customers = inventory_grpc.CustomerInventoryServiceStub(channel)
    services = instances_grpc.ServiceInstanceServiceStub(channel)
    seen = {}

    created = customers.CreateCustomer(inventory.CreateCustomerRequest(
        customer=resources.Customer(name="Python Corp", reference_number="PY-1"),
        request_id="python-1"), timeout=10)
    seen["created"] = {"id": created.customer.id, "name": created.customer.name}

    got = customers.GetCustomer(inventory.GetCustomerRequest(id=created.customer.id), timeout=10)
    seen["got"] = got.customer.reference_number

    listed = customers.ListCustomers(inventory.ListCustomersRequest(
        filter='reference_number = "py-1"'), timeout=10)
    seen["listed"] = [c.name for c in listed.customers]
    seen["total"] = listed.total_size

    instance = services.CreateServiceInstance(instances.CreateServiceInstanceRequest(
        service_instance=resources.ServiceInstance(
            customer_name="python corp", name="vpn-1", service_type="L3VPN")), timeout=10)
    seen["instance_customer"] = instance.service_instance.customer_id

    try:
        customers.DeleteCustomer(inventory.DeleteCustomerRequest(id=created.customer.id), timeout=10)
        seen["refused"] = None
    except grpc.RpcError as err:
        details = details_of(err)
        seen["refused"] = {
            "code": err.code().name,
            "reason": details["ErrorInfo"].reason,
            "domain": details["ErrorInfo"].domain,
            "blockers": [v.subject for v in details["PreconditionFailure"].violations],
        }

    try:
        customers.CreateCustomer(inventory.CreateCustomerRequest(
            customer=resources.Customer(name="")), timeout=10)
    except grpc.RpcError as err:
        bad = details_of(err)["BadRequest"]
        seen["invalid"] = {"code": err.code().name,
                           "fields": [v.field for v in bad.field_violations]}

    services.DeleteServiceInstance(
        instances.DeleteServiceInstanceRequest(id=instance.service_instance.id), timeout=10)
    customers.DeleteCustomer(inventory.DeleteCustomerRequest(id=created.customer.id), timeout=10)
    seen["deleted"] = True

print(json.dumps(seen))
