"""A small Weaviate stand-in that speaks Weaviate's real wire protocols on 127.0.0.1 ports.

No Weaviate server can run on these machines, so the Weaviate backend's tests drive the real
weaviate-client against this: REST (aiohttp) for what the client sends over HTTP (`/v1/meta`,
`/v1/.well-known/ready`, schema create/get/delete) and gRPC for the `weaviate.v1.Weaviate` service,
with the generated messages shipped inside the weaviate-client package (Search with hybrid, BM25 and
plain fetches, BatchObjects, BatchDelete). Objects really are stored, filtered and ranked: BM25 with
the collection's k1 and b (Weaviate's defaults 1.2 and 0.75 when unset) over whitespace tokens and
the whole collection's statistics, cosine on the stored vectors, and relative score fusion (min-max
per list, weighted by alpha). Anything else answers 404 or UNIMPLEMENTED; unknown REST routes are
recorded in `unknown`, so a client change shows up as a failing test.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
from aiohttp import web
from google.protobuf import json_format
from weaviate.proto.v1 import (
    base_pb2,
    base_search_pb2,
    batch_delete_pb2,
    batch_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)

VERSION = "1.32.4"
K1, B = 1.2, 0.75
Op = base_pb2.Filters.Operator


@dataclass
class StoredObject:
    id: uuid.UUID
    properties: dict[str, Any]
    vectors: dict[str, np.ndarray]


@dataclass
class FakeWeaviate:
    """State shared by both servers: collection configs, objects, and what was asked of them."""

    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, dict[uuid.UUID, StoredObject]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    http_port: int = 0
    grpc_port: int = 0
    _runner: web.AppRunner | None = None
    _grpc: grpc.aio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.http_port = self._runner.addresses[0][1]
        self._grpc = grpc.aio.server()
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        await self._grpc.start()

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(0)
        if self._runner is not None:
            await self._runner.cleanup()

    # REST ------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        call = f"{request.method} {request.path}"
        self.calls.append(call)
        parts = request.path.strip("/").split("/")
        if call == "GET /v1/meta":
            return web.json_response({"version": VERSION, "hostname": self.url, "modules": {}})
        if call in ("GET /v1/.well-known/ready", "GET /v1/.well-known/live"):
            return web.Response(status=200)
        if call == "POST /v1/schema":
            return self._create(await request.json())
        if parts[:2] == ["v1", "schema"] and len(parts) == 3:
            return self._schema(request.method, parts[2])
        self.unknown.append(call)
        return web.json_response({"error": [{"message": f"fake: no route {call}"}]}, status=404)

    def _create(self, config: dict[str, Any]) -> web.Response:
        name = config["class"]
        if name in self.schemas:
            return web.json_response({"error": [{"message": f"class name {name!r} already exists"}]}, status=422)
        self.schemas[name] = config
        self.objects[name] = {}
        return web.json_response(config)

    def _schema(self, method: str, name: str) -> web.Response:
        if method == "GET":
            return web.json_response(self.schemas[name]) if name in self.schemas else web.Response(status=404)
        if method == "DELETE":
            self.schemas.pop(name, None)
            self.objects.pop(name, None)
            return web.Response(status=200)
        self.unknown.append(f"{method} /v1/schema/{name}")
        return web.Response(status=405)

    # gRPC helpers ----------------------------------------------------------------------------------

    def matching(self, collection: str, filters: base_pb2.Filters | None) -> list[StoredObject]:
        stored = self.objects.get(collection)
        if stored is None:
            raise KeyError(collection)
        rows = sorted(stored.values(), key=lambda obj: obj.id.int)
        return [obj for obj in rows if filters is None or _matches(obj, filters)]


def _matches(obj: StoredObject, filters: base_pb2.Filters) -> bool:
    if filters.operator == Op.OPERATOR_AND:
        return all(_matches(obj, f) for f in filters.filters)
    if filters.operator == Op.OPERATOR_OR:
        return any(_matches(obj, f) for f in filters.filters)
    name = filters.target.property if filters.HasField("target") else filters.on[-1]
    value = obj.properties.get(name)
    if filters.operator == Op.OPERATOR_EQUAL:
        return bool(value == filters.value_text)
    if filters.operator == Op.OPERATOR_NOT_EQUAL:
        return bool(value != filters.value_text)
    raise NotImplementedError(f"fake: filter operator {Op.Name(filters.operator)}")


def _vectors(message: batch_pb2.BatchObject) -> dict[str, np.ndarray]:
    found = {v.name or "default": np.frombuffer(v.vector_bytes, dtype="<f4") for v in message.vectors}
    if message.vector_bytes:
        found["default"] = np.frombuffer(message.vector_bytes, dtype="<f4")
    return found


def _query_vector(hybrid: base_search_pb2.Hybrid) -> np.ndarray:
    if hybrid.vectors:
        return np.frombuffer(hybrid.vectors[0].vector_bytes, dtype="<f4")
    if hybrid.HasField("near_vector") and hybrid.near_vector.vectors:
        return np.frombuffer(hybrid.near_vector.vectors[0].vector_bytes, dtype="<f4")
    if hybrid.vector_bytes:
        return np.frombuffer(hybrid.vector_bytes, dtype="<f4")
    return np.asarray(hybrid.vector, dtype=np.float32)


def bm25(rows: list[StoredObject], query: str, properties: list[str], k1: float = K1, b: float = B) -> list[float]:
    """Okapi BM25 of each row for the whitespace tokens of `query` over the text of `properties`."""
    docs = [" ".join(str(row.properties.get(p, "")) for p in properties).split() for row in rows]
    if not docs:
        return []
    average = sum(len(d) for d in docs) / len(docs) or 1.0
    scores = [0.0] * len(docs)
    for term in set(query.split()):
        having = sum(1 for d in docs if term in d)
        idf = math.log(1 + (len(docs) - having + 0.5) / (having + 0.5))
        for i, doc in enumerate(docs):
            tf = doc.count(term)
            if tf:
                scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / average))
    return scores


def _normalized(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    return {i: (s - low) / (high - low) if high > low else 1.0 for i, s in scores.items()}


def hybrid_scores(rows: list[StoredObject], lexical_raw: list[float], hybrid: base_search_pb2.Hybrid) -> list[float]:
    """Relative score fusion of BM25 (rows with a positive score) and cosine similarity (every row)."""
    alpha = hybrid.alpha_param if hybrid.use_alpha_param else hybrid.alpha
    vector = _query_vector(hybrid)
    dense = {i: float(np.dot(next(iter(row.vectors.values())), vector)) for i, row in enumerate(rows)}
    lexical = {i: s for i, s in enumerate(lexical_raw) if s > 0}
    dense_n, lexical_n = _normalized(dense), _normalized(lexical)
    return [alpha * dense_n.get(i, 0.0) + (1 - alpha) * lexical_n.get(i, 0.0) for i in range(len(rows))]


def _value(value: Any) -> properties_pb2.Value:
    if isinstance(value, bool):
        return properties_pb2.Value(bool_value=value)
    if isinstance(value, int | float):
        return properties_pb2.Value(number_value=float(value))
    return properties_pb2.Value(text_value=str(value))


def _result(
    obj: StoredObject, score: float | None, request: search_get_pb2.SearchRequest, collection: str
) -> search_get_pb2.SearchResult:
    wanted = request.properties
    names = list(obj.properties) if wanted.return_all_nonref_properties else list(wanted.non_ref_properties)
    props = properties_pb2.Properties(fields={n: _value(obj.properties[n]) for n in names if n in obj.properties})
    meta = search_get_pb2.MetadataResult(id=str(obj.id), id_as_bytes=obj.id.bytes)
    if request.metadata.score and score is not None:
        meta.score, meta.score_present = score, True
    for name in list(obj.vectors) if request.metadata.vector else request.metadata.vectors:
        vector = obj.vectors[name].astype("<f4")
        meta.vectors.append(base_pb2.Vectors(name=name, vector_bytes=vector.tobytes(), type=1))
    return search_get_pb2.SearchResult(
        properties=search_get_pb2.PropertiesResult(non_ref_props=props, target_collection=collection), metadata=meta
    )


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, fake: FakeWeaviate) -> None:
        self._fake = fake

    async def Search(self, request: search_get_pb2.SearchRequest, context: Any) -> search_get_pb2.SearchReply:
        self._fake.calls.append("grpc Search")
        try:
            rows = self._fake.matching(request.collection, None)
        except KeyError:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"class {request.collection} not found")
        search = request.hybrid_search if request.HasField("hybrid_search") else request.bm25_search
        # BM25 statistics come from the whole collection; filters then narrow the candidates
        tuning = self._fake.schemas[request.collection].get("invertedIndexConfig", {}).get("bm25", {})
        k1, b = float(tuning.get("k1", K1)), float(tuning.get("b", B))
        lexical = bm25(rows, search.query, list(search.properties), k1, b)
        kept = [i for i, row in enumerate(rows) if not request.HasField("filters") or _matches(row, request.filters)]
        rows, lexical = [rows[i] for i in kept], [lexical[i] for i in kept]
        scores: list[float | None] = [None] * len(rows)
        if request.HasField("hybrid_search"):
            scores = list(hybrid_scores(rows, lexical, request.hybrid_search))
        elif request.HasField("bm25_search"):
            rows, scores = [r for r, s in zip(rows, lexical, strict=True) if s > 0], [s for s in lexical if s > 0]
        order = sorted(range(len(rows)), key=lambda i: -(scores[i] or 0.0))[: request.limit or 10]
        results = [_result(rows[i], scores[i], request, request.collection) for i in order]
        return search_get_pb2.SearchReply(results=results)

    async def BatchObjects(self, request: batch_pb2.BatchObjectsRequest, context: Any) -> batch_pb2.BatchObjectsReply:
        self._fake.calls.append("grpc BatchObjects")
        errors = []
        for index, message in enumerate(request.objects):
            stored = self._fake.objects.get(message.collection)
            if stored is None:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=index, error="class not found"))
                continue
            props = json_format.MessageToDict(message.properties.non_ref_properties)
            obj = StoredObject(uuid.UUID(message.uuid), props, _vectors(message))
            stored[obj.id] = obj
        return batch_pb2.BatchObjectsReply(errors=errors)

    async def BatchDelete(
        self, request: batch_delete_pb2.BatchDeleteRequest, context: Any
    ) -> batch_delete_pb2.BatchDeleteReply:
        self._fake.calls.append("grpc BatchDelete")
        rows = self._fake.matching(request.collection, request.filters)
        if not request.dry_run:
            for obj in rows:
                del self._fake.objects[request.collection][obj.id]
        return batch_delete_pb2.BatchDeleteReply(matches=len(rows), successful=len(rows))
