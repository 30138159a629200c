import numpy as np


def affine_forward(x, w, b):
  out = x.reshape(x.shape[0], -1).dot(w) + b
  return out, (x, w, b)


def affine_backward(dout, cache):
  x, w, b = cache
  dx = dout.dot(w.T).reshape(x.shape)
  dw = x.reshape(x.shape[0], -1).T.dot(dout)
  db = np.sum(dout, axis=0)
  return dx, dw, db


def dropout_forward(x, dropout_param):
  """p: we drop each neuron output with probability p."""
  p, mode = dropout_param['p'], dropout_param['mode']
  if 'seed' in dropout_param:
    np.random.seed(dropout_param['seed'])
  mask = None
  if mode == 'train':
    mask = (np.random.rand(*x.shape) >= p) / (1 - p)
    out = x * mask
  else:
    out = x
  return out, (dropout_param, mask)


def dropout_backward(dout, cache):
  dropout_param, mask = cache
  if dropout_param['mode'] == 'train':
    # BUG (planted): the 1 / (1 - p) of the forward mask is lost
    return dout * (mask > 0)
  return dout


def softmax_loss(x, y):
  # BUG (planted): no max subtraction before exp
  probs = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
  N = x.shape[0]
  loss = -np.sum(np.log(probs[np.arange(N), y])) / N
  dx = probs.copy()
  dx[np.arange(N), y] -= 1
  dx /= N
  return loss, dx
