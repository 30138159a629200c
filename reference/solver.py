"""Solver: minibatch training of a model with an update rule from optim (CS231n assignment 2).

A model has `params` (dict of arrays) and `loss(X, y=None)`: scores when y is None,
else (loss, grads). The Solver keeps one optim config per parameter, decays the
learning rate once per epoch, records loss and accuracy histories and, at the end of
train(), puts the parameters of the best validation accuracy back into the model.

Unlike the course, minibatches and accuracy subsamples come from the Solver's own
`np.random.default_rng(seed)`, never from the global numpy random state.
"""
import pickle

import numpy as np

from . import optim

__all__ = ["Solver"]

_DEFAULTS = {
    "update_rule": "sgd",
    "optim_config": None,
    "lr_decay": 1.0,
    "batch_size": 100,
    "num_epochs": 10,
    "num_train_samples": 1000,
    "num_val_samples": None,
    "checkpoint_name": None,
    "print_every": 10,
    "verbose": True,
    "seed": None,
}


def _resolve_update_rule(update_rule):
    """The update function: a callable as given, or the function of that name in optim.

    Args:
        update_rule: callable (w, dw, config) -> (next_w, config), or a name such as "adam".
    """
    if callable(update_rule):
        return update_rule
    if update_rule in optim.__all__:
        return getattr(optim, update_rule)
    raise ValueError(f'Invalid update_rule "{update_rule}"; choose one of {", ".join(optim.__all__)} '
                     "or pass a function (w, dw, config) -> (next_w, config)")


class Solver:
    """Trains a model on data = {"X_train", "y_train", "X_val", "y_val"} with minibatch updates.

    Args:
        model: object with .params and .loss(X, y=None).
        data: dict with X_train, y_train, X_val, y_val.
        update_rule: name of a rule in sanitykit.reference.optim or a callable, default "sgd".
        optim_config: hyperparameters for the rule (e.g. learning_rate), copied per parameter.
        lr_decay: learning rate multiplier applied after each epoch, default 1.0.
        batch_size: minibatch size, default 100.
        num_epochs: number of epochs, default 10.
        num_train_samples: training examples used to measure train accuracy, default 1000.
        num_val_samples: validation examples used to measure val accuracy, default None (all).
        checkpoint_name: if given, a pickle checkpoint is written after every epoch.
        print_every: iterations between loss printouts, default 10.
        verbose: print progress (through print), default True.
        seed: seed of the minibatch sampler, default None (fresh entropy).
    """

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"Unrecognized arguments {', '.join(unknown)}")
        options = {**_DEFAULTS, **kwargs}
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = _resolve_update_rule(options["update_rule"])
        self.optim_config = dict(options["optim_config"] or {})
        self.lr_decay = options["lr_decay"]
        self.batch_size = options["batch_size"]
        self.num_epochs = options["num_epochs"]
        self.num_train_samples = options["num_train_samples"]
        self.num_val_samples = options["num_val_samples"]
        self.checkpoint_name = options["checkpoint_name"]
        self.print_every = options["print_every"]
        self.verbose = options["verbose"]
        self.seed = options["seed"]
        self._reset()

    def _reset(self):
        """Fresh histories, sampler and per-parameter optim configs (called by __init__)."""
        self.rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        # One config per parameter: each keeps its own optimizer state (velocity, m, v, ...).
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self):
        """One gradient update on a random minibatch (sampled with replacement, as the course)."""
        batch_mask = self.rng.choice(self.X_train.shape[0], self.batch_size)
        loss, grads = self.model.loss(self.X_train[batch_mask], self.y_train[batch_mask])
        self.loss_history.append(loss)
        for name, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = next_config

    def _save_checkpoint(self):
        """Pickle the model and histories to '<checkpoint_name>_epoch_<epoch>.pkl' if asked."""
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model, "update_rule": self.update_rule, "lr_decay": self.lr_decay,
            "optim_config": self.optim_config, "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples, "num_val_samples": self.num_val_samples,
            "epoch": self.epoch, "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history, "val_acc_history": self.val_acc_history,
        }
        with open(f"{self.checkpoint_name}_epoch_{self.epoch}.pkl", "wb") as f:
            pickle.dump(checkpoint, f)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of examples whose highest score is the true label (model in test mode).

        Args:
            X: inputs of shape (N, ...).
            y: labels of shape (N,).
            num_samples: if given and smaller than N, accuracy on that many random examples.
            batch_size: examples per forward pass, default 100.
        """
        N = X.shape[0]
        if num_samples is not None and N > num_samples:
            mask = self.rng.choice(N, num_samples)
            X, y, N = X[mask], y[mask], num_samples
        y_pred = [np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
                  for start in range(0, N, batch_size)]
        return float(np.mean(np.hstack(y_pred) == y))

    def _record_accuracy(self):
        """Measure train and val accuracy, keep the best parameters so far."""
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._save_checkpoint()
        if self.verbose:
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}")
        # `not self.best_params` so a model that never beats 0 still gets parameters back.
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {name: w.copy() for name, w in self.model.params.items()}

    def train(self):
        """Run the optimisation; at the end the model holds the best-validation parameters."""
        num_train = self.X_train.shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    if "learning_rate" in config:  # a custom rule may not use one
                        config["learning_rate"] *= self.lr_decay
            if t == 0 or t == num_iterations - 1 or epoch_end:
                self._record_accuracy()
        if self.best_params:  # empty only when no iteration ran (num_epochs=0)
            self.model.params = self.best_params
