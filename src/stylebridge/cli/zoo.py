"""`stylebridge zoo`: list the models of a zoo and check they share the base's mapping."""

from __future__ import annotations

import click


@click.command("zoo")
@click.argument("zoo_dir", type=click.Path(), required=False)
@click.option("--base", default=None, help="Base model name when the folder has no zoo.json.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(zoo_dir, base, as_json):
    """List the models in ZOO_DIR (default: the zoo shipped with stylebridge) and check that
    every one shares the base model's mapping network (needed for translation)."""
    import json

    from stylebridge.errors import StylebridgeError
    from stylebridge.translate.zoo import Zoo

    if zoo_dir is None:
        from stylebridge.zoo import shipped_zoo_dir
        zoo_dir = shipped_zoo_dir()
    zoo = Zoo.from_dir(zoo_dir, base=base)
    rows = zoo.check()
    if as_json:
        click.echo(json.dumps({"zoo": zoo.name, "base": zoo.base, "models": rows}, indent=2))
    else:
        click.echo(f"zoo {zoo.name!r} in {zoo_dir}  (base: {zoo.base})")
        for r in rows:
            if "error" in r:
                click.echo(f"  {r['name']:12s} BROKEN: {r['error']}")
                continue
            mark = "base" if r["name"] == zoo.base else ("ok" if r["shares_base_mapping"] else "DIFFERENT MAPPING")
            extra = r.get("description") or r.get("recipe") or ""
            strength = zoo.default_strength(r["name"])
            if strength != 1:
                extra += f" (drawn at style strength {strength:g})"
            click.echo(f"  {r['name']:12s} {r['resolution']}px, {r['channels']} channel(s)  {mark:18s} {extra}")
    broken = [r["name"] for r in rows if "error" in r]
    bad = [r["name"] for r in rows if "error" not in r and not r["shares_base_mapping"]]
    problems = []
    if broken:
        problems.append(f"model(s) {', '.join(broken)} cannot be loaded (see above)")
    if bad:
        problems.append(f"model(s) {', '.join(bad)} do not share the base's mapping network; "
                        "they cannot be translated to or from")
    if problems:
        raise StylebridgeError("; ".join(problems))
