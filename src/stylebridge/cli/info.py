"""`stylebridge info`: what a checkpoint holds."""

from __future__ import annotations

import click


def describe(ckpt) -> dict:
    from stylebridge.networks.stylegan2 import Generator

    info: dict = {"file": str(ckpt.path), "format": ckpt.format, "contains": ckpt.contents()}
    for name in ("G", "G_ema", "D"):
        net = getattr(ckpt, name)
        if net is None:
            continue
        entry = {"parameters": sum(p.numel() for p in net.parameters()),
                 "resolution": net.img_resolution, "channels": net.img_channels}
        if isinstance(net, Generator):
            entry.update(num_ws=net.num_ws, z_dim=net.z_dim, w_dim=net.w_dim, c_dim=net.c_dim,
                         mapping_layers=net.config.mapping_layers,
                         mapping_parameters=sum(p.numel() for p in net.mapping.parameters()),
                         synthesis_parameters=sum(p.numel() for p in net.synthesis.parameters()))
        entry["config"] = net.config.to_dict()
        info[name] = entry
    tr, opts = ckpt.extra.get("training"), ckpt.extra.get("options")
    if isinstance(tr, dict) and isinstance(opts, dict):  # a stylebridge training snapshot: where the run stands
        info["training"] = {"iteration": int(tr["iteration"]), "images_seen": int(tr["images_seen"]),
                            "batch": opts.get("batch"), "aug": opts.get("aug"), "aug_p": float(tr["aug_p"]),
                            "precision": opts.get("precision"), "device_type": tr.get("device_type"),
                            "processes": tr.get("world_size")}
    info["notes"] = list(ckpt.notes)
    return info


@click.command("info")
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def command(checkpoint, as_json):
    """Show the format, architecture and contents of CHECKPOINT."""
    import json

    from stylebridge.formats import load_checkpoint

    info = describe(load_checkpoint(checkpoint))
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"file:     {info['file']}")
    click.echo(f"format:   {info['format']}")
    click.echo(f"contains: {', '.join(info['contains'])}")
    for name in ("G", "G_ema", "D"):
        if name not in info:
            continue
        e = info[name]
        line = f"{name:6s}  {e['resolution']}px, {e['channels']} channel(s)  params {e['parameters']:,}"
        if "num_ws" in e:
            line += (f"  num_ws {e['num_ws']}  z {e['z_dim']}  w {e['w_dim']}  c {e['c_dim']}"
                     f"  mapping {e['mapping_layers']} layers ({e['mapping_parameters']:,} params)")
        click.echo(line)
    if "training" in info:
        t = info["training"]
        where = f" on {t['device_type']}" if t["device_type"] else ""
        aug = f", {t['aug']} p {t['aug_p']:.3f}" if t["aug"] and t["aug"] != "none" else ""
        click.echo(f"training: iteration {t['iteration']:,}, {t['images_seen']:,} images seen, "
                   f"batch {t['batch']}{aug}, {t['precision']}{where} (--resume continues it)")
    for n in info["notes"]:
        click.echo(f"note: {n}")
