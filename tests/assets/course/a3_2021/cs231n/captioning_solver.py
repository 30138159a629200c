import numpy as np

from . import optim
from .coco_utils import sample_coco_minibatch


class CaptioningSolver(object):
    """A CaptioningSolver encapsulates all the logic necessary for training image captioning models."""

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.data = data
        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        if not hasattr(optim, self.update_rule):
            raise ValueError('Invalid update_rule "%s"' % self.update_rule)
        self.update_rule = getattr(optim, self.update_rule)
