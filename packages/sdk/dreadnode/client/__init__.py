"""A typed client for the training API (``docs/api.md``): catalog, jobs and datasets.

```python
from dreadnode.client import Client, NotFoundError

with Client() as client:  # $DREADNODE_SERVER_URL and $DREADNODE_API_KEY
    dataset = client.upload_dataset("train.jsonl")  # checked line by line by the server
    job = client.create_job(base_model="Qwen/Qwen3-8B", method="sft", dataset=dataset.id)
    for event in client.list_job_events(job.id).events:  # after=event.id reads only newer ones
        print(event.type, event.message)
    client.cancel_job(job.id)
```

This package imports httpx; the ``dn`` command line imports it only when it talks to a server,
so that listing the embedded catalog offline starts fast.
"""

from __future__ import annotations

from dreadnode.client._client import (
    API_KEY_ENV,
    API_KEY_HEADER,
    API_PREFIX,
    AUTO,
    DATASET_CONTENT_TYPE,
    SERVER_URL_ENV,
    USER_AGENT,
    Client,
    UploadProgress,
    normalize_base_url,
)
from dreadnode.client._exceptions import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ContentTooLargeError,
    DreadnodeError,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    UpgradeRequiredError,
    ValidationError,
)
from dreadnode.client._retry import RetryPolicy
from dreadnode.client.types import (
    CatalogModel,
    CatalogPage,
    CostEstimate,
    Dataset,
    DatasetPage,
    ErrorItem,
    Hyperparameters,
    Job,
    JobCheckpoint,
    JobError,
    JobEvent,
    JobEvents,
    JobMetrics,
    JobPage,
    JobProgress,
    JobSpec,
    JobValidation,
    LivePrice,
    MetricPoint,
    RetiredModel,
    RetiredModels,
    TokenCount,
)

__all__ = [
    "API_KEY_ENV",
    "API_KEY_HEADER",
    "API_PREFIX",
    "AUTO",
    "DATASET_CONTENT_TYPE",
    "SERVER_URL_ENV",
    "USER_AGENT",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "CatalogModel",
    "CatalogPage",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "ContentTooLargeError",
    "CostEstimate",
    "Dataset",
    "DatasetPage",
    "DreadnodeError",
    "ErrorItem",
    "GatewayTimeoutError",
    "Hyperparameters",
    "InternalServerError",
    "Job",
    "JobCheckpoint",
    "JobError",
    "JobEvent",
    "JobEvents",
    "JobMetrics",
    "JobPage",
    "JobProgress",
    "JobSpec",
    "JobValidation",
    "LivePrice",
    "MetricPoint",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetiredModel",
    "RetiredModels",
    "RetryPolicy",
    "ServiceUnavailableError",
    "TokenCount",
    "UnprocessableEntityError",
    "UpgradeRequiredError",
    "UploadProgress",
    "ValidationError",
    "normalize_base_url",
]
