"""Train the CNN, single process or data-parallel under torchrun, and export it.

    python -m training.train --dataset digits --out build/models/digits
    TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 torchrun --nproc_per_node 2 --max-restarts 3 \
        -m training.train --dataset digits --out DIR --drop-last

(Without that variable, workers restarted by torchrun after a failure can read the dead worker's
rendezvous address and hang: pytorch/pytorch#135712.)

Laid out like pytorch/examples' DDP tutorial: ``setup()`` → model, data, optimizer →
``Trainer.train()`` → ``teardown()``. Under torchrun (``RANK``/``WORLD_SIZE`` set) it joins a process
group (gloo on CPU, nccl on GPU) and wraps the model in DistributedDataParallel; otherwise it is a
plain single process. Only global rank 0 logs, checkpoints and exports.

Resuming is exact: every epoch's shuffle is derived from (seed, epoch) by DistributedSampler, and the
checkpoint written after each epoch holds the weights, the optimizer state and the RNG state, so an
interrupted run resumed from its last checkpoint ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
from tqdm import tqdm

from training.data import ImageData, load_dataset
from training.export import export_model
from training.model import build_model

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: its global rank, the world size and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--dataset", choices=["digits", "cifar10"], required=True)
    parser.add_argument("--data-dir", type=Path, help="cifar10: folder with the binary batch files")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint and exported model folder")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch, split across ranks")
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate")
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--drop-last",
        action="store_true",
        help="drop the incomplete last global batch, so N ranks see exactly the batches 1 process sees",
    )
    parser.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")
    parser.add_argument(
        "--device",
        default="auto",
        help="auto, cpu, cuda or cuda:N (under torchrun auto/cuda mean cuda:LOCAL_RANK)",
    )
    parser.add_argument("--amp", choices=["none", "bf16"], default="none", help="autocast dtype")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--registry",
        type=Path,
        help="DuckDB warehouse whose model registry gets the trained model as a new version "
        "(status external); default: not registered",
    )
    parser.add_argument(
        "--registry-model",
        help="registry model (dataset.name) it is a version of; default side_jobs.cnn_<dataset>",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch-size must be positive")
    return args


def setup(requested_device: str) -> DistContext:
    """Join the torchrun process group if launched by torchrun; pick the device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if requested_device == "cuda" or (requested_device == "auto" and torch.cuda.is_available()):
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu" if requested_device == "auto" else requested_device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=rank, world_size=world_size, device=device)


def teardown(ctx: DistContext, trainer: Trainer) -> None:
    """Leave the process group together, once rank 0 has exported, in one order on every rank:
    barrier, destroy the group, then release the DDP replica. A rank that released its replica or
    destroyed its gloo group while another still worked sometimes aborted in a destructor
    ("terminate called without an active exception", seen in CI and locally, just after rank 0's
    test accuracy). Only after success: after an error the other ranks may never arrive, and
    torchrun stops them once this rank exits."""
    if ctx.distributed:
        dist.barrier()
        dist.destroy_process_group()
    trainer.release()


class Trainer:
    """Runs the epochs, checkpoints after each (rank 0), resumes from the last checkpoint."""

    def __init__(
        self,
        model: nn.Module,
        data: ImageData,
        optimizer: torch.optim.Optimizer,
        ctx: DistContext,
        args: argparse.Namespace,
    ) -> None:
        if args.batch_size % ctx.world_size:
            raise ValueError(f"--batch-size {args.batch_size} is not divisible by {ctx.world_size} ranks")
        self.ctx = ctx
        self.args = args
        self.data = data
        self.memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
        self.model = model.to(ctx.device, memory_format=self.memory_format)
        self.optimizer = optimizer
        self.checkpoint_path = args.out / CHECKPOINT_FILE
        self.epochs_run = 0 if args.no_resume else self._load_checkpoint()
        # DDP wraps after loading, so every rank starts from the same restored weights.
        self.ddp_model: nn.Module = self.model
        if ctx.distributed:
            device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.ddp_model = DistributedDataParallel(self.model, device_ids=device_ids)
        if args.compile:
            self.ddp_model = torch.compile(self.ddp_model)
        dataset = TensorDataset(data.train_x, data.train_y)
        self.sampler = DistributedSampler(
            dataset,
            num_replicas=ctx.world_size,
            rank=ctx.rank,
            shuffle=True,
            seed=args.seed,
            drop_last=args.drop_last,
        )
        # Without drop_last the sampler pads the last batch with repeated images, a batch that a
        # single process never sees: the weights of 1 and N ranks then differ slightly.
        self.loader = DataLoader(
            dataset,
            sampler=self.sampler,
            batch_size=args.batch_size // ctx.world_size,
            drop_last=args.drop_last,
        )
        self.images_per_second: list[float] = []

    def release(self) -> None:
        """Drop the DDP wrapper and the data loader now, not at interpreter exit."""
        self.ddp_model = self.loader = None
        gc.collect()

    def train(self) -> None:
        for epoch in range(self.epochs_run, self.args.epochs):
            self.sampler.set_epoch(epoch)
            started = time.perf_counter()
            loss = self._run_epoch(epoch)
            seconds = time.perf_counter() - started
            self.images_per_second.append(len(self.sampler) * self.ctx.world_size / seconds)
            if self.ctx.is_main:
                self._save_checkpoint(epoch + 1)
                print(
                    f"epoch {epoch + 1}/{self.args.epochs} loss {loss:.4f} "
                    f"{self.images_per_second[-1]:.0f} images/s",
                    file=sys.stderr,
                    flush=True,
                )

    def _run_epoch(self, epoch: int) -> float:
        self.ddp_model.train()
        total, batches = 0.0, 0
        progress = tqdm(
            self.loader,
            desc=f"epoch {epoch + 1}/{self.args.epochs}",
            file=sys.stderr,
            disable=self.args.no_progress or not self.ctx.is_main,
            leave=False,
        )
        for pixels, labels in progress:
            loss = self._run_batch(pixels.to(self.ctx.device), labels.to(self.ctx.device))
            total, batches = total + loss, batches + 1
            progress.set_postfix(loss=f"{loss:.4f}", refresh=False)
        return total / max(batches, 1)

    def _run_batch(self, pixels: torch.Tensor, labels: torch.Tensor) -> float:
        inputs = self.data.preprocessing.normalize(pixels).contiguous(memory_format=self.memory_format)
        self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.ctx.device, self.args.amp):
            loss = nn.functional.cross_entropy(self.ddp_model(inputs), labels)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def _save_checkpoint(self, epochs_run: int) -> None:
        state = {
            "epochs_run": epochs_run,
            "model": self.model.state_dict(),  # the unwrapped module: loadable without DDP
            "optimizer": self.optimizer.state_dict(),
            "rng": torch.get_rng_state(),
            "seed": self.args.seed,
            "batch_size": self.args.batch_size,
        }
        # Write then rename: a kill during the save leaves the previous checkpoint intact.
        partial = self.checkpoint_path.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self.checkpoint_path)

    def _load_checkpoint(self) -> int:
        if not self.checkpoint_path.is_file():
            return 0
        state = torch.load(self.checkpoint_path, map_location=self.ctx.device, weights_only=True)
        if (state["seed"], state["batch_size"]) != (self.args.seed, self.args.batch_size):
            raise ValueError(
                f"{self.checkpoint_path} was written with seed {state['seed']} and batch size "
                f"{state['batch_size']}: resume with the same, or pass --no-resume"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"].cpu())
        if self.ctx.is_main:
            print(f"resuming from {self.checkpoint_path} after epoch {state['epochs_run']}", file=sys.stderr)
        return int(state["epochs_run"])


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager[Any]:
    if amp == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def accuracy(model: nn.Module, data: ImageData, device: torch.device, batch_size: int = 1024) -> float:
    """Share of the test images the model labels correctly."""
    model.eval()
    correct = 0
    for start in range(0, len(data.test_y), batch_size):
        pixels = data.test_x[start : start + batch_size].to(device)
        predicted = model(data.preprocessing.normalize(pixels)).argmax(dim=1).cpu()
        correct += int((predicted == data.test_y[start : start + batch_size]).sum())
    return correct / len(data.test_y)


def register(
    args: argparse.Namespace, test_accuracy: float, images_per_second: list[float], world_size: int
) -> int:
    """Record the exported model as the next version of its registry model (rank 0 only)."""
    from ml.registry.external import record_external_run

    metrics: dict[str, float] = {"test_accuracy": test_accuracy, "world_size": world_size}
    if images_per_second:  # none when a resumed run had no epoch left to train
        metrics["images_per_second"] = sum(images_per_second) / len(images_per_second)
    recorded = record_external_run(
        args.registry,
        args.registry_model or f"side_jobs.cnn_{args.dataset}",
        str(args.out.resolve()),
        metrics,
        options={
            "job": "training.train",
            "model_type": "cnn",
            "dataset": args.dataset,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "momentum": args.momentum,
            "seed": args.seed,
            "amp": args.amp,
        },
        triggered_by="job:training.train",
    )
    print(f"registered {recorded.model} version {recorded.version}", file=sys.stderr)
    return recorded.version


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    ctx = setup(args.device)
    trainer = train_and_export(args, ctx)
    teardown(ctx, trainer)


def train_and_export(args: argparse.Namespace, ctx: DistContext) -> Trainer:
    """Train (every rank), then evaluate, export and register (rank 0). Returns the trainer, whose
    DistributedDataParallel replica each rank keeps until teardown."""
    torch.manual_seed(args.seed)  # the same initial weights on every rank and every run
    data = load_dataset(args.dataset, args.data_dir)
    model, _ = build_model(args.dataset, num_classes=len(data.labels))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    if ctx.is_main:
        args.out.mkdir(parents=True, exist_ok=True)
    if ctx.distributed:
        dist.barrier()
    trainer = Trainer(model, data, optimizer, ctx, args)
    trainer.train()
    if ctx.is_main:
        test_accuracy = accuracy(trainer.model, data, ctx.device)
        print(f"test accuracy {test_accuracy:.4f}", file=sys.stderr)
        export_model(
            trainer.model,
            data.labels,
            data.preprocessing,
            args.out,
            {
                "dataset": args.dataset,
                "epochs": args.epochs,
                "test_accuracy": test_accuracy,
                "world_size": ctx.world_size,
                "images_per_second": trainer.images_per_second,
            },
        )
        if args.registry is not None:
            register(args, test_accuracy, trainer.images_per_second, ctx.world_size)
    return trainer


if __name__ == "__main__":
    main()
