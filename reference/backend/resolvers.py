"""Binds the contract's operation names to the backend's functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ariadne import MutationType, ObjectType, QueryType, make_executable_schema
from graphql import GraphQLResolveInfo, GraphQLSchema

from reference.backend import people, records
from reference.backend.context import Context, bad_input
from reference.backend.dialect_resolvers import adapt_input, adapt_output, bindables
from reference.backend.record_ids import parse_record_id
from reference.dialect_schema import served_sdl

Info = GraphQLResolveInfo[Context]
query = QueryType()
mutation = MutationType()
user_type = ObjectType("User")


def _ctx(info: Info) -> Context:
    ctx = info.context
    assert isinstance(ctx, Context)
    return ctx


@query.field("viewer")
def _viewer(_: Any, info: Info) -> Any:
    return people.viewer(_ctx(info))


@query.field("notificationCount")
def _notifications(_: Any, info: Info) -> int:
    return people.notification_count(_ctx(info))


@query.field("user")
def _user(_: Any, info: Info, id: str) -> Any:
    return people.user(_ctx(info), id)


@query.field("record")
def _record(_: Any, info: Info, id: str) -> Any:
    return adapt_output("record", records.find_record(_ctx(info), parse_record_id(id) or ""))


@query.field("release")
def _release(_: Any, info: Info, id: str) -> Any:
    return records.release(_ctx(info), id)


@query.field("releasesByBarcode")
def _by_barcode(_: Any, info: Info, barcode: str) -> Any:
    return records.releases_by_barcode(_ctx(info), barcode)


@query.field("records")
def _records(_: Any, info: Info, first: int | None = None, after: str | None = None,
             last: int | None = None, before: str | None = None,
             filter: dict[str, Any] | None = None) -> Any:
    return records.connection(_ctx(info), first, after, last, before, filter)


@query.field("searchRecords")
def _search(_: Any, info: Info, query: str, first: int | None = None,
            after: str | None = None, filter: dict[str, Any] | None = None) -> Any:
    return records.connection(_ctx(info), first, after, None, None, filter, text=query)


@query.field("artists")
def _artists(_: Any, info: Info) -> Any:
    return records.distinct(_ctx(info), "artist")


@query.field("albums")
def _albums(_: Any, info: Info) -> Any:
    return records.distinct(_ctx(info), "title")


@query.field("genres")
def _genres(_: Any, info: Info) -> Any:
    return records.distinct(_ctx(info), "genre")


@query.field("userTenants")
def _user_tenants(_: Any, info: Info, userId: str) -> Any:
    return people.user_tenants(_ctx(info), userId)


@query.field("searchUsers")
def _search_users(_: Any, info: Info, query: str) -> Any:
    return people.search_users(_ctx(info), query)


@query.field("pendingFriendRequests")
def _pending(_: Any, info: Info) -> Any:
    return people.friend_requests(_ctx(info), "recipientId")


@query.field("sentFriendRequests")
def _sent(_: Any, info: Info) -> Any:
    return people.friend_requests(_ctx(info), "requesterId")


@query.field("friends")
def _friends(_: Any, info: Info) -> Any:
    return people.friends(_ctx(info))


@user_type.field("friends")
def _user_friends(parent: Any, info: Info) -> Any:
    ctx = _ctx(info)
    # Only the viewer's own list: friends of friends would show strangers' connections.
    if not isinstance(parent, dict) or parent.get("id") != str(ctx.user_id()):
        return []
    return people.friends(ctx)


@query.field("spotifyPreview")
def _spotify(_: Any, info: Info, track: str, artist: str) -> Any:
    _ctx(info).user_id()
    return None  # Spotify needs the internet; the reference answers "no preview".


@mutation.field("scanBarcode")
def _scan(_: Any, info: Info, barcode: str) -> Any:
    ctx = _ctx(info)
    ctx.active_tenant(writers=True)
    found = records.releases_by_barcode(ctx, barcode)
    errors = [] if found else [{"field": "barcode", "message": "No release found (offline)"}]
    return adapt_output("scanBarcode", {"releases": found, "errors": errors})


@mutation.field("addUserToTenant")
def _add_user(_: Any, info: Info, userId: str, tenantId: str, role: str) -> Any:
    return people.add_user_to_tenant(_ctx(info), userId, tenantId, role)


@mutation.field("sendFriendRequest")
def _send(_: Any, info: Info, githubLogin: str) -> Any:
    return adapt_output("sendFriendRequest", people.send_friend_request(_ctx(info), githubLogin))


@mutation.field("respondToFriendRequest")
def _respond(_: Any, info: Info, requestId: str, accept: bool) -> Any:
    return adapt_output("respondToFriendRequest", people.respond(_ctx(info), requestId, accept))


@mutation.field("removeFriend")
def _remove(_: Any, info: Info, friendId: str) -> Any:
    return people.remove_friend(_ctx(info), friendId)


@mutation.field("switchTenant")
def _switch(_: Any, info: Info, tenantId: str) -> Any:
    _ctx(info).user_id()
    # The active tenant lives in the BFF's session; only the BFF can change it.
    raise bad_input("switchTenant is answered by the BFF")


# Mutations that take one `input` object and hand it to their handler unchanged.
INPUT_MUTATIONS: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
    "createRecord": records.create,
    "updateRecord": records.update,
    "deleteRecord": records.delete,
    "upsertUser": people.upsert_user,
    "updateUserSettings": people.update_settings,
    "createTenant": people.create_tenant,
    "handleGitHubInstallationWebhook": people.installation_webhook,
    "completeInstallationSetup": people.complete_installation,
}


def _with_input(name: str,
                handler: Callable[[Context, dict[str, Any]], Any]) -> Callable[..., Any]:
    def resolve(_: Any, info: Info, input: dict[str, Any]) -> Any:
        return adapt_output(name, handler(_ctx(info), adapt_input(name, input)))
    return resolve


for _name, _handler in INPUT_MUTATIONS.items():
    mutation.set_field(_name, _with_input(_name, _handler))


def build_schema() -> GraphQLSchema:
    return make_executable_schema(served_sdl(), query, mutation, user_type, *bindables())
