"""Images that are not dermoscopy photos, for the gate's not-dermoscopy detector: photos and icons that ship inside
installed packages (scikit-image, gradio, matplotlib, scikit-learn, networkx, scipy, Playwright, Ray) and generated
ones (flat colours, noise, documents, screenshots, charts, drawings, patterns).

Two parts that never share a photo or a generator: `fitting_images` (what the detector learns from, each photo
also as several crops) and `held_out_images` (what its detection rate is reported on; new kinds go here only).
Note: scikit-image's `cat` and `chelsea` are the same photo, so only the fitting part has it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SKIMAGE_FIT = ["astronaut", "brick", "camera", "cat", "cell", "checkerboard", "clock", "coffee", "coins", "colorwheel",
               "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo", "moon", "page", "retina",
               "rocket", "text", "stereo_motorcycle", "microaneurysms"]
GRADIO_HELD_OUT = ["avatar.png", "bus.png", "cheetah.jpg", "groot.jpeg", "hf-logo_transpng.png", "lion.jpg", "logo.png",
                   "screenshot.gif", "tower.jpg"]
MATPLOTLIB_HELD_OUT = ["grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"]
NETWORKX_FIT = ["test_display_complex.png", "test_display_house_with_colors.png", "test_display_shortest_path.png"]
# Every other image file in the installed packages (requirements-dev.txt) that the app accepts (short side >= 32 px),
# swept once (issue 23, docs/results.md) and listed before the gate was run on them. Left out: the fitting part's own
# files and other files of the same picture (scikit-image's chelsea, chessboard_RGB, motorcycle_left/right; networkx's
# test_house_with_colors; test_display_empty_graph, a white page like the fitting part's white flat), byte copies and the
# second Playwright icon (kept once), icons under 32 px (refused as too small).
MATPLOTLIB_ICONS = ["back", "filesave", "forward", "help", "home", "matplotlib", "move", "qt4_editor_options",
                    "subplots", "zoom_to_rect"]
PACKAGE_HELD_OUT = ["gradio/media_assets/images/cheetah1.jpg", "gradio/templates/frontend/favicon.png",
                    "gradio/test_data/rectangles.gif",
                    *[f"matplotlib/mpl-data/images/{name}_large.png" for name in MATPLOTLIB_ICONS],
                    "networkx/drawing/tests/baseline/test_display_labels_and_colors.png",
                    "playwright/driver/package/lib/server/chromium/appIcon.png",
                    "ray/dashboard/client/build/speedscope-1.5.3/favicon-32x32.1165a94e.png", "skimage/data/phantom.png"]
CROPS_PER_PHOTO = 6  # extra random crops of each fitting photo: a user may upload any part of a photo
SIDE = 600  # generated images are about this size, like a photo


def _rgb(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, np.ndarray):
        if image.dtype == bool:
            image = image.astype(np.uint8) * 255
        elif image.dtype != np.uint8:
            image = (255 * (image - image.min()) / max(float(np.ptp(image)), 1e-6)).astype(np.uint8)
        image = Image.fromarray(image)
    if image.mode in ("RGBA", "LA", "PA", "P"):
        image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image.convert("RGBA"))
    return image.convert("RGB")


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(Path(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")), size)


# --- generated kinds ---------------------------------------------------------------------------------------------


def flat(colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (SIDE, SIDE * 3 // 4), colour)


def noise(rng: np.random.Generator, kind: str) -> Image.Image:
    shape = (SIDE * 3 // 4, SIDE, 3)
    if kind == "uniform":
        return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
    if kind == "gaussian":
        return Image.fromarray(np.clip(rng.normal(128, 50, shape), 0, 255).astype(np.uint8))
    # "clouds": smoothed noise, a soft texture with no edges
    small = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    return small.resize((SIDE, SIDE * 3 // 4), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(6))


def gradient(start: tuple[int, int, int], end: tuple[int, int, int]) -> Image.Image:
    t = np.linspace(0, 1, SIDE)[None, :, None]
    row = (1 - t) * np.array(start) + t * np.array(end)
    return Image.fromarray(np.repeat(row, SIDE * 3 // 4, axis=0).astype(np.uint8))


def document(lines: list[str], paper: str = "white", ink: str = "black", size: int = 18) -> Image.Image:
    page = Image.new("RGB", (SIDE, SIDE * 4 // 3), paper)
    draw, font = ImageDraw.Draw(page), _font(size)
    for i in range(SIDE * 4 // 3 // (size + 8)):
        draw.text((30, 20 + (size + 8) * i), lines[i % len(lines)], fill=ink, font=font)
    return page


def screenshot(rng: np.random.Generator, dark: bool = False) -> Image.Image:
    background, panel, text = ((30, 32, 38), (50, 54, 62), (220, 220, 225)) if dark else ((240, 240, 245), (255, 255, 255), (20, 20, 20))
    image = Image.new("RGB", (SIDE * 4 // 3, SIDE), background)
    draw, font = ImageDraw.Draw(image), _font(16)
    draw.rectangle((0, 0, image.width, 44), fill=tuple(int(c) for c in rng.integers(20, 160, 3)))
    for i in range(8):
        top = 60 + 64 * i
        draw.rectangle((20, top, image.width - 20, top + 48), fill=panel, outline=(150, 150, 160))
        draw.text((36, top + 14), f"Item {i + 1}: settings, files, upload, share", fill=text, font=font)
    return image


def shapes(rng: np.random.Generator) -> Image.Image:
    image = Image.new("RGB", (SIDE, SIDE * 3 // 4), tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        box = sorted(rng.integers(0, SIDE, 2)), sorted(rng.integers(0, SIDE * 3 // 4, 2))
        xy = (box[0][0], box[1][0], box[0][1], box[1][1])
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(xy, fill=colour)
    return image


def _figure_pixels(figure) -> Image.Image:
    """A matplotlib figure rendered to an RGB image, and closed."""
    import matplotlib.pyplot as plt

    figure.canvas.draw()
    image = Image.fromarray(np.asarray(figure.canvas.buffer_rgba())).convert("RGB")
    plt.close(figure)
    return image


def chart(rng: np.random.Generator, kind: str) -> Image.Image:
    """A matplotlib figure (line, bar, scatter, pie, heatmap or contour chart), rendered to pixels."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=100)
    x = np.arange(20)
    if kind == "line":
        axes.plot(x, rng.normal(size=(20, 3)).cumsum(axis=0))
    elif kind == "bar":
        axes.bar(x, rng.integers(1, 10, 20), color="tab:orange")
    elif kind == "scatter":
        axes.scatter(rng.normal(size=200), rng.normal(size=200), c=rng.random(200), cmap="viridis")
    elif kind == "pie":
        axes.pie(rng.integers(1, 10, 5), labels=list("ABCDE"))
    elif kind == "heatmap":
        axes.imshow(rng.normal(size=(12, 16)).cumsum(axis=1), cmap="magma")
    else:
        grid = np.linspace(-3, 3, 100)
        axes.contourf(grid, grid, np.sin(grid[None, :] * rng.uniform(1, 2)) + np.cos(grid[:, None]), levels=12, cmap="terrain")
    axes.set_title(f"Quarterly figures ({kind})")
    return _figure_pixels(figure)


def face(rng: np.random.Generator) -> Image.Image:
    """A drawn face on a coloured background: a portrait, as a child or an emoji would draw it."""
    image = Image.new("RGB", (SIDE, SIDE), tuple(int(c) for c in rng.integers(60, 240, 3)))
    draw = ImageDraw.Draw(image)
    skin = [(241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172)][int(rng.integers(5))]
    draw.ellipse((130, 80, 470, 520), fill=skin, outline=(60, 40, 30), width=4)
    for x in (220, 380):
        draw.ellipse((x - 28, 230, x + 28, 270), fill="white", outline="black", width=3)
        draw.ellipse((x - 10, 240, x + 10, 260), fill=(60, 40, 20))
    draw.arc((220, 330, 380, 440), 20, 160, fill=(150, 40, 40), width=8)
    draw.pieslice((120, 40, 480, 260), 180, 360, fill=(70, 40, 20))  # hair
    return image


def landscape(rng: np.random.Generator) -> Image.Image:
    """Sky, sun, hills and water, drawn."""
    sky = gradient((90, 150, 230), (200, 225, 250)).transpose(Image.Transpose.ROTATE_90).resize((SIDE, SIDE * 3 // 4))
    draw = ImageDraw.Draw(sky)
    draw.ellipse((420, 40, 500, 120), fill=(255, 220, 80))
    horizon = int(rng.integers(250, 330))
    points = [(0, horizon)] + [(x, horizon - int(60 * np.sin(x / 90 + rng.random()))) for x in range(0, SIDE + 1, 30)] + [(SIDE, SIDE)]
    draw.polygon([*points, (0, SIDE)], fill=(60, 130, 60))
    draw.rectangle((0, 380, SIDE, SIDE), fill=(40, 90, 160))
    return sky.filter(ImageFilter.GaussianBlur(1))


def scribbles(rng: np.random.Generator) -> Image.Image:
    """Pen strokes on paper: a random walk drawn in a few colours."""
    image = Image.new("RGB", (SIDE, SIDE * 3 // 4), "white")
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        steps = rng.normal(0, 12, (200, 2)).cumsum(axis=0) + (SIDE // 2, SIDE * 3 // 8)
        draw.line([tuple(map(int, p)) for p in steps], fill=tuple(int(c) for c in rng.integers(0, 200, 3)), width=3)
    return image


def spectrogram(rng: np.random.Generator) -> Image.Image:
    """A matplotlib spectrogram of a chirp in noise, with axes and a title."""
    import matplotlib.pyplot as plt

    t = np.linspace(0, 2, 8000)
    signal = np.sin(2 * np.pi * (200 + 600 * t) * t) + rng.normal(0, 0.5, t.size)
    figure, axes = plt.subplots(figsize=(6, 4.5), dpi=100)
    axes.specgram(signal, Fs=4000, NFFT=256, noverlap=128)
    axes.set_title("Spectrogram")
    return _figure_pixels(figure)


def mosaic(rng: np.random.Generator) -> Image.Image:
    """Stained glass: each pixel takes the colour of its nearest of 60 random seeds, with dark leading between."""
    height, width = SIDE * 3 // 4, SIDE
    seeds = rng.random((60, 2)) * (height, width)
    colours = rng.integers(30, 256, (60, 3))
    y, x = np.mgrid[0:height, 0:width]
    distances = (y[..., None] - seeds[:, 0]) ** 2 + (x[..., None] - seeds[:, 1]) ** 2
    nearest = np.sort(distances, axis=-1)[..., :2]
    image = colours[distances.argmin(-1)].astype(np.uint8)
    image[np.sqrt(nearest[..., 1]) - np.sqrt(nearest[..., 0]) < 3] = 20
    return Image.fromarray(image)


def tartan(rng: np.random.Generator) -> Image.Image:
    """A woven tartan: coloured bands across and down, mixed where they cross."""
    palette = rng.integers(0, 256, (4, 3))
    bands = np.repeat(rng.integers(0, 4, 24), rng.integers(8, 40, 24))
    across, down = palette[np.resize(bands, SIDE)], palette[np.resize(bands[::-1], SIDE * 3 // 4)]
    twill = (np.add.outer(np.arange(SIDE * 3 // 4), np.arange(SIDE)) // 2 % 2)[..., None]
    return Image.fromarray(np.where(twill, across[None, :, :], down[:, None, :]).astype(np.uint8))


def pixel_art(rng: np.random.Generator) -> Image.Image:
    """A symmetric 12x12 sprite of a few colours on a plain ground, blown up with hard edges."""
    palette = rng.integers(0, 256, (4, 3))
    half = rng.integers(0, 4, (12, 6))
    sprite = palette[np.concatenate([half, half[:, ::-1]], axis=1)].astype(np.uint8)
    return Image.fromarray(sprite).resize((SIDE // 2, SIDE // 2), Image.Resampling.NEAREST)


def barcode(rng: np.random.Generator) -> Image.Image:
    widths = rng.integers(2, 12, 60)
    row = np.concatenate([np.full(w, 255 * (i % 2), np.uint8) for i, w in enumerate(widths)])
    return Image.fromarray(np.tile(row[:SIDE], (SIDE * 3 // 4, 1))).convert("RGB")


# --- the two parts -----------------------------------------------------------------------------------------------


def _site_image(path: str) -> Image.Image:
    import site

    for root in site.getsitepackages():
        if Path(root, path).is_file():
            return _rgb(Image.open(Path(root, path)))
    raise FileNotFoundError(path)


def fitting_images() -> dict[str, Image.Image]:
    """What the not-dermoscopy detector learns from (before the random crops of `fitting_views`)."""
    import skimage.data

    rng = np.random.default_rng(0)
    images = {}
    for name in SKIMAGE_FIT:
        image = getattr(skimage.data, name)()
        images[name] = _rgb(image[0] if isinstance(image, tuple) else image)
    for name in NETWORKX_FIT:
        images[name] = _site_image(f"networkx/drawing/tests/baseline/{name}")
    images["dots"] = _site_image("scipy/ndimage/tests/dots.png")
    for colour in [(255, 255, 255), (0, 0, 0), (200, 160, 140), (120, 60, 40), (30, 90, 200), (230, 190, 170), (90, 60, 50)]:
        images[f"flat {colour}"] = flat(colour)
    for kind in ("uniform", "gaussian", "clouds"):
        images[f"{kind} noise"] = noise(rng, kind)
    for start, end in [((0, 0, 0), (255, 255, 255)), ((230, 180, 160), (120, 70, 50)), ((20, 40, 120), (250, 200, 60))]:
        images[f"gradient {start}-{end}"] = gradient(start, end)
    notes = ["Patient notes: lesion on the left shoulder, 6 mm, follow up in 3 months.", "Referral letter: dermatology clinic."]
    images["document"] = document(notes)
    images["document, yellow paper"] = document(notes, paper="#f4eecd", ink="#333", size=24)
    images["screenshot"] = screenshot(rng)
    images["screenshot, dark"] = screenshot(rng, dark=True)
    for i in range(3):
        images[f"shapes {i}"] = shapes(rng)
    return images


def fitting_views(images: dict[str, Image.Image], seed: int = 0) -> list[tuple[str, Image.Image]]:
    """(name, view): each fitting image whole, plus CROPS_PER_PHOTO random crops (a quarter to all of its short side,
    flipped at random): the parts of a photo a user might upload."""
    rng = np.random.default_rng(seed)
    views = []
    for name, image in images.items():
        views.append((name, image))
        short = min(image.size)
        for _ in range(CROPS_PER_PHOTO):
            side = int(short * rng.uniform(0.25, 1.0))
            left, top = int(rng.integers(0, image.width - side + 1)), int(rng.integers(0, image.height - side + 1))
            crop = image.crop((left, top, left + side, top + side))
            views.append((name, crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop))
    return [(name, view) for name, view in views if min(view.size) >= 32]


def held_out_images() -> dict[str, Image.Image]:
    """What the detection rate is reported on: other packages' photos and generated kinds never fitted on (named by
    kind, or by file name for package images)."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(1)
    images = {name: _site_image(f"gradio/media_assets/images/{name}") for name in GRADIO_HELD_OUT}
    images["cheetah2.jpg"] = _site_image("gradio/test_data/cheetah2.jpg")
    for name in MATPLOTLIB_HELD_OUT:
        images[name] = _site_image(f"matplotlib/mpl-data/sample_data/{name}")
    images |= dict(zip(["china.jpg", "flower.jpg"], map(_rgb, load_sample_images().images), strict=True))
    generators: dict[str, Callable[[], Image.Image]] = {
        "line chart": lambda: chart(rng, "line"),
        "bar chart": lambda: chart(rng, "bar"),
        "scatter chart": lambda: chart(rng, "scatter"),
        "pie chart": lambda: chart(rng, "pie"),
        "heatmap": lambda: chart(rng, "heatmap"),
        "contour map": lambda: chart(rng, "contour"),
        "scribbles 1": lambda: scribbles(rng),
        "scribbles 2": lambda: scribbles(rng),
        "drawn face 1": lambda: face(rng),
        "drawn face 2": lambda: face(rng),
        "drawn face 3": lambda: face(rng),
        "landscape 1": lambda: landscape(rng),
        "landscape 2": lambda: landscape(rng),
        "barcode": lambda: barcode(rng),
        "form": lambda: document(["Name: ____________  Date of birth: __________", "Signature: ______________"], size=20),
        "dark document": lambda: document(["console output: 3 tests passed, 0 failed"], paper="#101418", ink="#9fe89f"),
        "skin-coloured flat": lambda: flat((224, 172, 140)),
        "skin-coloured clouds": lambda: Image.blend(flat((214, 160, 130)), noise(rng, "clouds"), 0.15),
        # added later (issue 23), to the held-out part only
        "spectrogram": lambda: spectrogram(rng),
        "stained-glass mosaic": lambda: mosaic(rng),
        "tartan": lambda: tartan(rng),
        "pixel-art sprite": lambda: pixel_art(rng),
    }
    images |= {name: make() for name, make in generators.items()}
    return images | {Path(path).name: _site_image(path) for path in PACKAGE_HELD_OUT}
