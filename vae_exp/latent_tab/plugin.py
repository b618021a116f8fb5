"""The LATENT tab: vae-exp's TensorBoard plugin `vae_latent` and its HTTP routes.

TensorBoard finds it through the `tensorboard_plugins` entry point, so that
`tensorboard --logdir outputs` shows the tab wherever vae-exp is installed.
Routes (under `/data/plugin/vae_latent/`):

    runs                               JSON: every run, its latent size, classes and slider order
    decode?run=RUN&z=0,1,0,0[&label=]  PNG: the decoded vector, as `vae-exp-explore z=...` draws it
    traversal?run=RUN&z=...&dim=D      PNG: dimension D swept over explore's traversal values
    map?run=RUN[&dims=I,J]             JSON: the validation images' posterior means in 2-D
    image?run=RUN&index=N              PNG: map point N's image beside its reconstruction

A bad query is answered with HTTP 400 and one line saying what is allowed.
torch and the models are imported on the first request, not when TensorBoard
starts, so that the plugin costs TensorBoard nothing until the tab is opened.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files
from typing import Any

from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from werkzeug import wrappers

from vae_exp.foundation.errors import UserError

PLUGIN_NAME = "vae_latent"
TAB_NAME = "LATENT"
_FRONTEND = files("vae_exp.latent_tab").joinpath("static", "index.js")


class BadQuery(UserError):
    """A query parameter the routes cannot use: answered with HTTP 400."""


def numbers(setting: str, text: str | None) -> list[float]:
    """`0,1.5,-2` as numbers, refused in one line unless each is a finite number."""
    if not text:
        raise BadQuery(f"{setting} is missing: give one number per latent dimension, e.g. 0,1,0,0")
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise BadQuery(f"{setting}={text} is not allowed: {part!r} is not a number") from None
        if not math.isfinite(value):
            raise BadQuery(f"{setting}={text} is not allowed: {part} is not a finite number")
        values.append(value)
    return values


def whole_number(setting: str, text: str | None, required: bool = True) -> int | None:
    """An integer query parameter, refused in one line otherwise."""
    if text is None or text == "":
        if required:
            raise BadQuery(f"{setting} is missing: a whole number")
        return None
    try:
        return int(text)
    except ValueError:
        raise BadQuery(f"{setting}={text} is not allowed: a whole number") from None


class LatentPlugin(base_plugin.TBPlugin):
    """Decodes latent vectors of the runs under TensorBoard's logdir, server-side."""

    plugin_name = PLUGIN_NAME

    def __init__(self, context: base_plugin.TBContext) -> None:
        self._logdir = context.logdir or ""
        self._catalogue: Any = None

    def catalogue(self) -> Any:
        """The runs under the logdir (built on first use, which imports torch)."""
        if self._catalogue is None:
            from vae_exp.latent_tab.catalogue import RunCatalogue

            self._catalogue = RunCatalogue(self._logdir)
        return self._catalogue

    def is_active(self) -> bool:
        return bool(self._logdir) and bool(self.catalogue().names())

    def frontend_metadata(self) -> base_plugin.FrontendMetadata:
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name=TAB_NAME)

    def get_plugin_apps(self) -> dict[str, Any]:
        return {
            "/index.js": self._serve_frontend,
            "/runs": self._serve_runs,
            "/decode": self._serve_decode,
            "/traversal": self._serve_traversal,
            "/map": self._serve_map,
            "/image": self._serve_image,
        }

    @wrappers.Request.application
    def _serve_frontend(self, request: wrappers.Request) -> wrappers.Response:
        return http_util.Respond(request, _FRONTEND.read_text(), "application/javascript")

    @wrappers.Request.application
    def _serve_runs(self, request: wrappers.Request) -> wrappers.Response:
        return _json(request, {"logdir": self._logdir, "runs": self.catalogue().listing()})

    @wrappers.Request.application
    def _serve_decode(self, request: wrappers.Request) -> wrappers.Response:
        return _answer(request, lambda: self._decoded(request))

    @wrappers.Request.application
    def _serve_traversal(self, request: wrappers.Request) -> wrappers.Response:
        return _answer(request, lambda: self._decoded(request, traversal=True))

    @wrappers.Request.application
    def _serve_map(self, request: wrappers.Request) -> wrappers.Response:
        def latent_map() -> dict[str, Any]:
            view = self._view(request)
            dims = request.args.get("dims")
            pair = None
            if dims:
                values = numbers("dims", dims)
                if len(values) != 2 or not all(v.is_integer() for v in values):
                    raise BadQuery(f"dims={dims} is not allowed: two latent dimensions, e.g. 0,1")
                pair = (int(values[0]), int(values[1]))
            return view.map_points(pair)

        return _answer(request, latent_map)

    @wrappers.Request.application
    def _serve_image(self, request: wrappers.Request) -> wrappers.Response:
        def pair() -> bytes:
            view = self._view(request)
            return view.pair_png(whole_number("index", request.args.get("index")))

        return _answer(request, pair)

    def _view(self, request: wrappers.Request) -> Any:
        name = request.args.get("run")
        if name is None:
            raise BadQuery("run is missing: one of the names /runs lists")
        return self.catalogue().view(name)

    def _decoded(self, request: wrappers.Request, traversal: bool = False) -> bytes:
        view = self._view(request)
        z = view.vector(numbers("z", request.args.get("z")))
        label = view.label(whole_number("label", request.args.get("label"), required=False))
        if traversal:
            return view.traversal_png(z, whole_number("dim", request.args.get("dim")), label)
        return view.decode_png(z, label)


def _json(request: wrappers.Request, value: Any) -> wrappers.Response:
    return http_util.Respond(request, json.dumps(value), "application/json")


def _answer(request: wrappers.Request, produce: Any) -> wrappers.Response:
    """`produce()`'s PNG or JSON; a refusal as HTTP 400 (404 for an unknown run), one line."""
    from vae_exp.latent_tab.catalogue import UnknownRun

    try:
        value = produce()
    except UnknownRun as error:
        return http_util.Respond(request, str(error), "text/plain", code=404)
    except UserError as error:
        return http_util.Respond(request, str(error).splitlines()[0], "text/plain", code=400)
    if isinstance(value, bytes):
        return http_util.Respond(request, value, "image/png")
    return _json(request, value)
