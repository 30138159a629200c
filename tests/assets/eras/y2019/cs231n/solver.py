from __future__ import print_function, division
from future import standard_library
standard_library.install_aliases()
from builtins import range
from builtins import object
import pickle as pickle

import numpy as np

from cs231n import optim


class Solver(object):

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.X_train, self.y_train = data['X_train'], data['y_train']
        self.update_rule = getattr(optim, kwargs.pop('update_rule', 'sgd'))
        self.optim_config = kwargs.pop('optim_config', {})
        self.num_epochs = kwargs.pop('num_epochs', 10)
        self.print_every = kwargs.pop('print_every', 10)
        self.verbose = kwargs.pop('verbose', True)
        self.loss_history = []
        self.configs = dict((p, dict(self.optim_config)) for p in self.model.params)

    def _step(self):
        loss, grads = self.model.loss(self.X_train, self.y_train)
        self.loss_history.append(loss)
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.configs[p])
            self.model.params[p] = next_w
            self.configs[p] = next_config

    def train(self):
        for t in range(self.num_epochs):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print('(Iteration %d / %d) loss: %f' % (t + 1, self.num_epochs, self.loss_history[-1]))
