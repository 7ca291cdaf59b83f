"""Modality generator: a diffusers text-to-image pipeline -> image + provenance.

ImageRequest (one picture to draw) lives here (its defaults, GenerationSettings, in config.py);
chatbot.output_projector writes them.

One Generator per process and model, loaded on first use. Every picture is saved
as a PNG whose text metadata records how it was made (prompt, negative, seed,
steps, guidance, size, model), so a picture can be reproduced or explained later.
diffusers and torch are imported inside functions: the app starts without them.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from .cleanup import private_dir
from .config import (
    MAX_GENERATION_SIDE,
    MAX_GENERATION_STEPS,
    MAX_IMAGE_PROMPT_CHARS,
    MAX_SEED,
    MIN_GENERATION_SIDE,
    resolve_device,
    resolve_dtype,
)
from .messages import UserError, msg

PROVENANCE_KEY = "chatbot:provenance"  # PNG text chunk holding the JSON provenance
PARAMETERS_KEY = "parameters"  # the human-readable line image viewers already show
OUTPUT_DIR = private_dir(
    "images"
)  # this process's own folder, swept by cleanup.py; the store keeps copies
SIDE_MULTIPLE = 8  # the VAE halves the side 3 times (2 for the tiny one)


# ---- what the generator gets (written by chatbot.output_projector) ----------------------


@dataclass
class ImageRequest:
    """One picture to draw. Defaults are sd-turbo's (1 step, no guidance, 512 px)."""

    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    steps: int = 1
    guidance: float = 0.0
    width: int = 512
    height: int = 512
    init_image: str | None = None  # path of an uploaded photo: image-to-image variation
    strength: float = 0.6  # image-to-image only: 0 keeps the photo, 1 ignores it

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ImageRequest":
        """From the UI card: unknown keys are ignored, numbers typed as the fields are."""
        types = {
            "seed": int,
            "steps": int,
            "width": int,
            "height": int,
            "guidance": float,
            "strength": float,
        }
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in d and d[f.name] is not None:
                value = d[f.name]
                kwargs[f.name] = types[f.name](value) if f.name in types else value
        if f"{kwargs.get('init_image', '')}" == "":
            kwargs["init_image"] = None
        return cls(**kwargs)


class GenerationStopped(Exception):
    """The user pressed Stop while the picture was being drawn."""


@dataclass
class GeneratedImage:
    image: Any  # PIL.Image.Image
    path: str  # the saved PNG, provenance in its text metadata
    provenance: dict


def check_request(req: ImageRequest) -> ImageRequest:
    """Validate against the named limits; sides are rounded down to a multiple of 8."""
    if not req.prompt.strip():
        raise UserError("draw.empty")
    if not 1 <= req.steps <= MAX_GENERATION_STEPS:
        raise UserError("draw.steps", steps=req.steps, limit=MAX_GENERATION_STEPS)
    for side in (req.width, req.height):
        if not MIN_GENERATION_SIDE <= side <= MAX_GENERATION_SIDE:
            raise UserError(
                "draw.size",
                width=req.width,
                height=req.height,
                low=MIN_GENERATION_SIDE,
                high=MAX_GENERATION_SIDE,
            )
    if req.guidance < 0:
        raise UserError("draw.guidance", guidance=req.guidance)
    if not 0 <= req.seed <= MAX_SEED:
        raise UserError("draw.seed", seed=req.seed, limit=MAX_SEED)
    for what, text in (("word.prompt", req.prompt), ("word.negative_prompt", req.negative_prompt)):
        if len(text) > MAX_IMAGE_PROMPT_CHARS:
            raise UserError(
                "draw.prompt_too_long",
                what=msg(what),
                chars=len(text),
                limit=MAX_IMAGE_PROMPT_CHARS,
            )
    if req.init_image is not None:
        if not 1 / MAX_GENERATION_STEPS <= req.strength <= 1.0:
            raise UserError("draw.strength", strength=req.strength, low=1 / MAX_GENERATION_STEPS)
        if not Path(req.init_image).is_file():
            raise UserError("draw.photo_gone", name=Path(req.init_image).name)
    return replace(
        req,
        width=req.width // SIDE_MULTIPLE * SIDE_MULTIPLE,
        height=req.height // SIDE_MULTIPLE * SIDE_MULTIPLE,
    )


def _is_out_of_memory(err: BaseException) -> bool:
    import torch

    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err).lower()  # CPU and MPS report it as a plain RuntimeError
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def read_provenance(path: str | Path) -> dict:
    """The provenance a generated PNG carries ({} for any other image)."""
    from PIL import Image

    with Image.open(path) as im:
        return json.loads(im.info.get(PROVENANCE_KEY, "{}"))


class Generator:
    """A diffusers pipeline behind a lock: one picture at a time per loaded model."""

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        output_dir: str | Path | None = None,
    ):
        self.model = model
        self.requested_device, self.requested_dtype = device, dtype
        self.output_dir = Path(output_dir or OUTPUT_DIR)
        self.device: str | None = None
        self.dtype = None
        self._text2image = None
        self._image2image = None
        # The pipeline object keeps per-call state (scheduler timesteps, guidance):
        # two sessions must not run it at the same time.
        self._lock = threading.Lock()

    # ---- loading --------------------------------------------------------------------------

    def _load_kwargs(self) -> dict:
        """dtype, plus safety_checker=None where the pipeline class has one.

        The user sees every prompt and owns every picture; a checker would also
        cost a CLIP model's memory. Checked on the class so SDXL-type pipelines,
        which have no such argument, load without warnings.
        """
        import diffusers

        kwargs: dict = {"dtype": self.dtype}
        try:
            cls = getattr(
                diffusers, diffusers.DiffusionPipeline.load_config(self.model)["_class_name"]
            )
            accepted = inspect.signature(cls.__init__).parameters
        except Exception:  # config not readable here: from_pretrained will say why
            accepted = {"safety_checker": None, "requires_safety_checker": None}
        if "safety_checker" in accepted:
            kwargs["safety_checker"] = None
        if "requires_safety_checker" in accepted:
            kwargs["requires_safety_checker"] = False
        return kwargs

    def load(self):
        """Load the text-to-image pipeline (once) and return it."""
        if self._text2image is None:
            from diffusers import AutoPipelineForText2Image

            self.device = resolve_device(self.requested_device)
            self.dtype = resolve_dtype(self.requested_dtype, self.device)
            pipe = AutoPipelineForText2Image.from_pretrained(self.model, **self._load_kwargs())
            pipe = pipe.to(self.device)
            pipe.set_progress_bar_config(disable=True)  # progress goes to on_step, not stderr
            self._text2image = pipe
        return self._text2image

    def _image2image_pipeline(self):
        """Image-to-image on the same weights (from_pipe shares the modules: no extra memory)."""
        if self._image2image is None:
            from diffusers import AutoPipelineForImage2Image

            pipe = AutoPipelineForImage2Image.from_pipe(self.load())
            pipe.set_progress_bar_config(disable=True)
            self._image2image = pipe
        return self._image2image

    # ---- drawing --------------------------------------------------------------------------

    @staticmethod
    def _init_image(path: str, width: int, height: int):
        """The uploaded photo, upright, scaled so its longer side fits the requested size.

        Keeps the photo's aspect ratio (the shorter side stays >= MIN_GENERATION_SIDE,
        a very long side is center-cropped to MAX_GENERATION_SIDE); sides are
        multiples of 8 for the VAE.
        """
        from PIL import Image, ImageOps

        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
        scale = max(max(width, height) / max(im.size), MIN_GENERATION_SIDE / min(im.size))
        w, h = (int(s * scale) // SIDE_MULTIPLE * SIDE_MULTIPLE for s in im.size)
        im = im.resize((w, h), Image.Resampling.LANCZOS)
        if max(w, h) > MAX_GENERATION_SIDE:
            im = ImageOps.fit(im, (min(w, MAX_GENERATION_SIDE), min(h, MAX_GENERATION_SIDE)))
        return im

    def generate(
        self,
        req: ImageRequest,
        on_step: Callable[[int, int], None] | None = None,
        stop_event: threading.Event | None = None,
    ) -> GeneratedImage:
        """Draw one picture. on_step(done, total) after each denoising step; setting
        stop_event ends it after the current step with GenerationStopped.

        The same request (prompt, seed, steps, size, model, device) gives the same pixels:
        the noise comes from a CPU torch.Generator seeded with req.seed, which draws the
        same numbers whatever device the pipeline runs on.
        """
        import torch

        req = check_request(req)
        if stop_event is not None and stop_event.is_set():
            raise GenerationStopped("Stopped before drawing.")
        steps = req.steps
        kwargs: dict = dict(
            prompt=req.prompt,
            negative_prompt=req.negative_prompt or None,
            guidance_scale=req.guidance,
        )

        def step_end(pipe, i, t, tensors):
            if on_step is not None:
                on_step(i + 1, getattr(pipe, "num_timesteps", None) or steps)
            if stop_event is not None and stop_event.is_set():
                # Raising ends the denoising loop now; setting pipe._interrupt would
                # still run the VAE decode of a picture nobody wants.
                raise GenerationStopped(f"Stopped after step {i + 1}.")
            return tensors

        with self._lock:
            try:
                if req.init_image is not None:
                    pipe = self._image2image_pipeline()
                    # image-to-image runs int(steps * strength) steps: keep at least one
                    steps = max(req.steps, math.ceil(1 / req.strength - 1e-9))
                    kwargs.update(
                        image=self._init_image(req.init_image, req.width, req.height),
                        strength=req.strength,
                    )
                else:
                    pipe = self.load()
                    kwargs.update(width=req.width, height=req.height)
                generator = torch.Generator("cpu").manual_seed(req.seed)
                t0 = time.perf_counter()
                with torch.inference_mode():
                    image = pipe(
                        **kwargs,
                        num_inference_steps=steps,
                        generator=generator,
                        callback_on_step_end=step_end,
                    ).images[0]
            except GenerationStopped:
                raise
            except Exception as err:
                if not _is_out_of_memory(err):
                    raise
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                raise UserError(
                    "draw.oom", width=req.width, height=req.height, steps=steps, device=self.device
                ) from None
        provenance = self._provenance(req, pipe, steps, image, time.perf_counter() - t0)
        return GeneratedImage(
            image=image, path=str(self._save(image, provenance)), provenance=provenance
        )

    def _provenance(self, req: ImageRequest, pipe, steps: int, image, seconds: float) -> dict:
        import diffusers

        prov = {
            "prompt": req.prompt,
            "negative_prompt": req.negative_prompt,
            "seed": req.seed,
            "steps": steps,
            "guidance": req.guidance,
            "width": image.width,
            "height": image.height,
            "model": self.model,
            "mode": "image-to-image" if req.init_image else "text-to-image",
            "scheduler": type(pipe.scheduler).__name__,
            "device": self.device,
            "dtype": str(self.dtype).replace("torch.", ""),
            "seconds": round(seconds, 3),
            "diffusers": diffusers.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if req.init_image:
            # the file name only: the server's folders are nobody's business
            prov.update(
                init_image=Path(req.init_image).name,
                strength=req.strength,
                denoising_steps=pipe.num_timesteps,
            )
        return prov

    def _save(self, image, provenance: dict) -> Path:
        from PIL.PngImagePlugin import PngInfo

        self.output_dir.mkdir(parents=True, exist_ok=True)
        info = PngInfo()
        info.add_itxt(PROVENANCE_KEY, json.dumps(provenance, ensure_ascii=False))
        info.add_itxt(
            PARAMETERS_KEY,
            (
                f"{provenance['prompt']}\nNegative prompt: {provenance['negative_prompt']}\n"
                f"Steps: {provenance['steps']}, CFG scale: {provenance['guidance']}, "
                f"Seed: {provenance['seed']}, Size: {provenance['width']}x{provenance['height']}, "
                f"Model: {provenance['model']}"
            ),
        )
        path = (
            self.output_dir
            / f"{time.strftime('%Y%m%d-%H%M%S')}-{provenance['seed']}-{uuid.uuid4().hex[:8]}.png"
        )
        image.save(path, pnginfo=info)
        return path
