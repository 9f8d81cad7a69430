"""`hallmonitor bench`: per-stage cost on photos, or the live pipeline against N real RTSP streams."""

from __future__ import annotations

import sys
from pathlib import Path

import click

# the stream kinds of hallmonitor.stream_bench.STREAMS (named here so that --help needs no models loaded)
STREAM_NAMES = ("720p15-h264-gop1", "720p25-h264-gop1", "720p25-h264-gop2", "720p25-h265-gop2", "1080p25-h265-gop2",
                "d1-h264-gop2")


@click.command()
@click.option("--images", "image_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="folder of photos to run (default: the fetched real photos and the bundled example)")
@click.option("--repeats", default=5, show_default=True, help="passes over the photos")
@click.option("--threads", default=1, show_default=True, help="onnxruntime threads (1 = the cost on one core)")
@click.option("--no-crop-pass", is_flag=True, help="skip the second detector pass on person crops")
@click.option("--cameras", "cameras", type=int, multiple=True,
              help="run the live pipeline against this many real RTSP streams (repeat for several runs)")
@click.option("--windows-per-camera", default=2, show_default=True)
@click.option("--seconds", default=30.0, show_default=True, help="measured seconds per run (after a warm-up)")
@click.option("--fps", default=1.0, show_default=True, help="analyses per second per camera")
@click.option("--sweep", is_flag=True, help="find the highest camera count that holds the goal (double, then bisect)")
@click.option("--mode", "modes", multiple=True,
              type=click.Choice(["shipped", "baseline", "optimized", "lean", "optimized-int8", "lean-int8"]),
              help="with --cameras: the pipeline settings to measure (default: shipped = the models and rules "
                   "of --config; the others are the settings of earlier measurements, for comparison)")
@click.option("--config", "config_path", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="with --cameras: the cameras.yaml whose models, thresholds and rules the bench cameras take "
                   "(default: the shipped one)")
@click.option("--stream", "streams", multiple=True, type=click.Choice(sorted(STREAM_NAMES)),
              help="with --cameras: what the bench cameras send (default 720p15-h264-gop1; repeat for several)")
@click.option("--footage", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="with --cameras: the video the bench cameras show, e.g. a recording of your own hall's windows "
                   "(default: the demo's walkway, vtest.avi, where every zone moves all the time)")
@click.option("--head", "heads", multiple=True,
              help="photos: run this behaviour head too (a head name in the manifest; repeat for several)")
@click.option("--hand-zoom", is_flag=True, help="photos: look at the staff's hands too (models.hand_zoom_every_s)")
def bench(image_dir, repeats, threads, no_crop_pass, cameras, windows_per_camera, seconds, fps, sweep, modes,
          config_path, streams, footage, heads, hand_zoom) -> None:
    """Per-stage latency on photos; or, with --cameras, the live pipeline on N real RTSP streams."""
    if cameras:
        import logging

        from hallmonitor.stream_bench import SHIPPED, stream_bench
        from vision.logs import setup_logging
        setup_logging(level=logging.WARNING)
        click.echo(stream_bench(list(cameras), windows_per_camera, seconds, fps, list(modes) or ["shipped"],
                                not no_crop_pass, sweep, list(streams) or None, config_path or SHIPPED, footage))
        return
    from hallmonitor.photo_bench import default_images, format_stage_table, stage_bench
    from vision.analysis.photo import list_images
    from vision.errors import InputError

    images = list_images(image_dir) if image_dir else default_images()
    if not images:
        raise InputError("no photos to run: give --images DIR, or run scripts/fetch-media.sh")
    click.echo(f"bench: {len(images)} photos x {repeats} passes, {threads} thread(s)", err=True)
    with click.progressbar(length=repeats, label="bench", file=sys.stderr) as bar:
        result = stage_bench(images, repeats, threads, not no_crop_pass,
                             progress=lambda done, total: bar.update(1), heads=list(heads) if heads else None,
                             hand_zoom=hand_zoom)
    click.echo(format_stage_table(result))
