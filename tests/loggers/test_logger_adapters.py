"""Each logger vae-exp ships has its adapter; any other Lightning logger takes scalars only."""

from __future__ import annotations

from pytorch_lightning.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

from vae_exp.loggers.adapters import LoggerAdapter, adapter_for
from vae_exp.loggers.csv_metrics import EpochCSVLogger
from vae_exp.loggers.mlflow_logger import MLflowLogger


def test_each_shipped_logger_has_its_adapter():
    adapters = {
        kind: type(adapter_for(kind)).__name__
        for kind in (TensorBoardLogger, MLFlowLogger, MLflowLogger, WandbLogger, EpochCSVLogger)
    }
    assert adapters == {
        TensorBoardLogger: "TensorBoard",
        MLFlowLogger: "MLflow",
        MLflowLogger: "MLflow",
        WandbLogger: "WeightsAndBiases",
        EpochCSVLogger: "CSVMetrics",
    }
    assert type(adapter_for(CSVLogger)) is LoggerAdapter  # scalars only, through Lightning
