"""The HTTP face of GraphQL as Apollo Server 4 shows it in production.

CSRF prevention, batching refusal, introspection refusal and status codes live here so the
BFF and the backend answer identically.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
import urllib.parse
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.requests import Request
from starlette.responses import JSONResponse

from reference import dialects, faults
from reference.gqlbounds import beyond_bounds

log = logging.getLogger("vinylvault.graphql")

# Content types a browser may send cross-site without a CORS preflight.
_SIMPLE_TYPES = {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
_PREFLIGHT_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")
_CSRF_MESSAGE = (
    "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
    "Please either specify a 'content-type' header (with a type that is not one of "
    "application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a "
    "non-empty value for one of the following headers: x-apollo-operation-name, "
    "apollo-require-preflight"
)
_INTROSPECTION_MESSAGE = (
    "GraphQL introspection is not allowed by Apollo Server, but the query contained "
    "__schema or __type. To enable introspection, pass introspection: true to ApolloServer "
    "in production"
)


@dataclass
class Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    query: str
    variables: dict[str, Any]
    operation_name: str | None


def _stacktrace(message: str) -> list[str]:
    """What Apollo adds to every error outside production mode: the server's call stack."""
    frames = traceback.extract_stack()[:-2]
    return [f"GraphQLError: {message}",
            *(f"    at {f.name} ({f.filename}:{f.lineno})" for f in reversed(frames))]


def _extensions(message: str, ext: dict[str, Any]) -> dict[str, Any]:
    if faults.active("stack-traces"):
        # Fault: development-mode errors, which show internals (paths, modules) to any caller.
        ext["stacktrace"] = _stacktrace(message)
    if faults.active("legacy-stack-traces"):
        # Fault: Apollo Server 2/3's development shape, the stack under `exception`.
        ext["exception"] = {"stacktrace": _stacktrace(message)}
    return ext


def _variant(entry: dict[str, Any]) -> dict[str, Any]:
    """Dialect auth-error-variants: where each refusal carries the code that makes it one."""
    if not dialects.active("auth-error-variants"):
        return entry
    code = (entry.get("extensions") or {}).get("code")
    if code == "UNAUTHENTICATED":
        message = str(entry["message"])
        if not any(w in message for w in ("Unauthorized", "Not authenticated")):
            message = f"Unauthorized: {message}"
        return {k: v for k, v in entry.items() if k != "extensions"} | {"message": message}
    if code == "FORBIDDEN":
        return {**entry, "message": "Access denied"}
    return entry


def error_body(message: str, code: str) -> dict[str, Any]:
    entry = {"message": message, "extensions": _extensions(message, {"code": code})}
    return {"errors": [_variant(entry)]}


def result_response(result: ExecutionResult) -> tuple[dict[str, Any], int]:
    """An executed operation's body and HTTP status (dialect http-status-refusals: 401 or 403
    when every error is a refusal, as Apollo gives with an `http` extension)."""
    body: dict[str, Any] = {}
    codes = set()
    if result.errors:
        body["errors"] = [format_error(e) for e in result.errors]
        codes = {str((e.extensions or {}).get("code")) for e in result.errors}
    body["data"] = result.data
    status = 200
    refusals = {"UNAUTHENTICATED", "FORBIDDEN"}
    if codes and codes <= refusals and dialects.active("http-status-refusals"):
        status = 403 if codes == {"FORBIDDEN"} else 401
    return body, status


def bad_request(message: str, code: str = "BAD_REQUEST") -> JSONResponse:
    return JSONResponse(error_body(message, code), status_code=400)


_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$")


def _validation_failed(errors: list[GraphQLError]) -> JSONResponse:
    """Every validation error, as Apollo answers them; without graphql-js's "Did you mean"
    suggestions, which would tell a caller the schema that introspection hides."""
    entries = []
    for error in errors:
        message = (_INTROSPECTION_MESSAGE if "introspection" in error.message.lower()
                   else error.message)
        if not faults.active("field-suggestions"):
            message = _SUGGESTION.sub("", message)
        entry = {"message": message,
                 "extensions": _extensions(message, {"code": "GRAPHQL_VALIDATION_FAILED"})}
        entries.append(_variant(entry))
    return JSONResponse({"errors": entries}, status_code=400)


def _form_body(raw: bytes) -> dict[str, Any]:
    """Fault graphql-accepts-form: a form-encoded body read as a GraphQL request."""
    fields = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace")))
    variables = fields.get("variables")
    return {"query": fields.get("query"), "operationName": fields.get("operationName"),
            "variables": json.loads(variables) if variables else {}}


def _content_type(request: Request, plain_text_json: bool) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if plain_text_json and request.method == "POST" and content_type == "text/plain":
        # Fault graphql-accepts-text-plain: a body parser told that text/plain is JSON too
        # hands GraphQL a JSON request, so the CSRF check never sees a simple content type.
        return "application/json"
    return content_type


def _csrf_blocked(request: Request, content_type: str) -> bool:
    if content_type and content_type not in _SIMPLE_TYPES:
        return False
    return not any(request.headers.get(h) for h in _PREFLIGHT_HEADERS)


async def prepare(
    request: Request, schema: GraphQLSchema, introspection: bool, csrf_prevention: bool = True,
    plain_text_json: bool = False,
) -> Prepared | JSONResponse:
    """Parse and validate a GraphQL HTTP request, or the 4xx response Apollo would give."""
    if request.method not in ("GET", "POST"):
        return JSONResponse(error_body("GraphQL only supports GET and POST requests.",
                                       "BAD_REQUEST"), status_code=405,
                            headers={"Allow": "GET, POST"})
    content_type = _content_type(request, plain_text_json)
    form = (faults.active("graphql-accepts-form") and request.method == "POST"
            and content_type == "application/x-www-form-urlencoded")
    if csrf_prevention and not form and _csrf_blocked(request, content_type):
        return bad_request(_CSRF_MESSAGE)
    if request.method == "GET":
        params = request.query_params
        try:
            variables = json.loads(params["variables"]) if params.get("variables") else {}
        except ValueError:
            return bad_request("`variables` in a GET request must be JSON.")
        body: Any = {"query": params.get("query"), "variables": variables,
                     "operationName": params.get("operationName")}
    elif form:
        try:
            body = _form_body(await request.body())
        except ValueError:
            return bad_request("`variables` in a form body must be JSON.")
    else:
        if content_type != "application/json":
            return bad_request("POST body must be JSON (Content-Type: application/json).")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return bad_request("POST body is not valid JSON.")
    if isinstance(body, list):
        return bad_request("Operation batching disabled.")
    if not isinstance(body, dict):
        return bad_request("POST body must be a JSON object.")
    query = body.get("query")
    variables = body.get("variables") or {}
    operation_name = body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return bad_request("GraphQL operations must contain a non-empty `query`.")
    if not isinstance(variables, dict) or not (
        operation_name is None or isinstance(operation_name, str)
    ):
        return bad_request("`variables` must be an object and `operationName` a string.")
    try:
        document = parse(query)
    except GraphQLError as exc:
        return bad_request(exc.message, "GRAPHQL_PARSE_FAILED")
    beyond = beyond_bounds(document)
    if beyond is not None:
        return bad_request(beyond, "GRAPHQL_VALIDATION_FAILED")
    rules = list(specified_rules)
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    errors = validate(schema, document, rules)
    if errors:
        return _validation_failed(errors)
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return bad_request("Could not determine which operation to run.",
                           "OPERATION_RESOLUTION_FAILURE")
    if (request.method == "GET" and operation.operation.value != "query"
            and not faults.active("get-mutations")):
        return JSONResponse(error_body("Can only perform a mutation operation from a POST "
                                       "request.", "BAD_REQUEST"), status_code=405)
    return Prepared(document, operation, query, variables, operation_name)


def format_error(error: GraphQLError) -> dict[str, Any]:
    ext = dict(error.extensions or {})
    ext.setdefault("code", "INTERNAL_SERVER_ERROR")
    out: dict[str, Any] = {"message": error.message, "extensions": ext}
    if error.path:
        out["path"] = list(error.path)
    if ext["code"] == "INTERNAL_SERVER_ERROR" and error.original_error is not None:
        # Never leak internals (driver messages can name hosts or databases); log the type.
        log.error("resolver failed: %s: %s", type(error.original_error).__name__, error.message)
        out["message"] = "Internal server error"
    out["extensions"] = _extensions(out["message"], ext)
    return _variant(out)

