"""`stylebridge generate`: images from seeds or projected latents (NVIDIA generate.py conventions)."""

from __future__ import annotations

import click

from stylebridge.cli.common import (
    OutputPath,
    SeedList,
    device_option,
    load_noted,
    precision_option,
    resolve_device,
)


@click.command("generate")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--seeds", type=SeedList(), help="Seeds, e.g. 0-3,7. z = RandomState(seed).randn(1, z_dim).")
@click.option("--projected-w", "projected_w", type=click.Path(dir_okay=False),
              help="Render latents from an .npz with array 'w' [N, num_ws, w_dim] (NVIDIA projected_w.npz) "
                   "instead of seeds.")
@click.option("--trunc", "truncation_psi", type=float, default=1.0, show_default=True,
              help="Truncation psi: 1 = none, smaller = closer to the mean w.")
@click.option("--trunc-cutoff", type=int, default=None, help="Truncate only the first N ws (default: all).")
@click.option("--noise-mode", type=click.Choice(["const", "random", "none"]), default="const", show_default=True,
              help="const: the checkpoint's stored noise; random: fresh noise per image (seeded); none: no noise.")
@click.option("--class", "class_idx", type=int, default=None, help="Class label for conditional models.")
@click.option("--outdir", type=OutputPath("dir"), required=True, help="Folder for seedNNNN.png files.")
@click.option("--grid", type=OutputPath("file"), default=None, help="Also write all images as one grid PNG.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Images per forward pass. Default: measured per device, 1 on CPU (fastest per image there; 8 "
                   "with --precision bf16), 8 on CUDA.")
@click.option("--fast", is_flag=True,
              help="Use the batched form of modulated convolution (on CPU with channels-last activations; "
                   "about 1.15x the default's speed at 256 px). Default is NVIDIA's arithmetic, whose PNGs equal "
                   "those of NVIDIA's generate.py; --fast may differ by 1/255 in a few pixels. --precision bf16 always "
                   "takes the batched form (bf16 is not NVIDIA's arithmetic anyway).")
@device_option
@precision_option
def command(checkpoint, seeds, projected_w, truncation_psi, trunc_cutoff, noise_mode, class_idx, outdir, grid,
            batch_size, fast, device, precision):
    """Generate images from CHECKPOINT (native .safetensors, NVIDIA .pkl or rosinality .pt).

    \b
    Example:
      stylebridge generate ffhq.pkl --seeds 0-3,7 --trunc 0.7 --outdir out/
    writes out/seed0000.png ... out/seed0007.png, pixel-identical to NVIDIA's generate.py.
    """
    from pathlib import Path

    import torch

    from stylebridge.data.images import make_grid, save_image, to_uint8
    from stylebridge.errors import StylebridgeError
    from stylebridge.generate import (
        default_batch_size,
        generate_from_seeds,
        load_projected_w,
        sampling_form,
        synthesize,
    )

    if (seeds is None) == (projected_w is None):
        raise StylebridgeError("give exactly one of --seeds or --projected-w")
    dev = resolve_device(device)
    G = load_noted(checkpoint, dev, generator_only=True).generator
    out = Path(outdir)
    batch_size = batch_size or default_batch_size(dev, precision)
    images, count = [], 0
    if projected_w is not None:
        ws = load_projected_w(projected_w, G)
        fused = sampling_form(not fast, dev, precision)
        for i in range(0, len(ws), batch_size):
            imgs = synthesize(G, ws[i:i + batch_size], noise_mode, precision, fused=fused)
            for j, img in enumerate(to_uint8(imgs)):
                name = f"proj{i + j:02d}"
                save_image(img.cpu(), out / f"{name}.png")
                count += 1
                if grid:
                    images.append(img.cpu())
    else:
        samples = generate_from_seeds(G, seeds, truncation_psi, trunc_cutoff, noise_mode, class_idx, batch_size,
                                      precision, exact=not fast)
        from tqdm import tqdm

        for s in tqdm(samples, total=len(seeds), desc="generate", unit="img", disable=None):
            save_image(s.image, out / f"{s.name}.png")
            count += 1
            if grid:  # only the grid needs them all in memory
                images.append(s.image)
    click.echo(f"wrote {count} images to {out}/")
    if grid:
        save_image(make_grid(torch.stack(images), pad_value=0), grid)
        click.echo(f"wrote grid {grid}")
