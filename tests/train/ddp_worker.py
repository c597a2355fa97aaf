"""Run by test_ddp under torch.distributed.run (or directly for 1 process): one fine-tuning
iteration, then every rank writes its G and D state."""

import sys

import torch

from stylebridge.train import TrainOptions
from stylebridge.train.loop import Trainer
from tests.train.helpers import disc_images

base, out = sys.argv[1], sys.argv[2]
torch.set_num_threads(1)
opts = TrainOptions(base=base, data_array=disc_images(12), outdir=out, batch=4, progress=False, gamma=0.5,
                    freeze_mapping=True, aug="none", style_mixing=0.9, seed=3, lr_g=0.002, lr_d=0.002,
                    precision="fp32")  # the default is bf16 on CPUs that have it: sums in bf16 depend on the split
tr = Trainer(opts)
# Per-pixel noise is drawn per process (it cannot match one process sample for sample):
# keep the noise strengths at 0 so that the comparison is exact.
for name, p in tr.G.named_parameters():
    if name.endswith("noise_strength"):
        p.register_hook(torch.zeros_like)
tr.step()
sd = {f"G.{k}": v for k, v in tr.G.state_dict().items()}
sd.update({f"D.{k}": v for k, v in tr.D.state_dict().items()})
torch.save(sd, f"{out}/rank{tr.info.rank}.pt")
