import numpy as np


"""
This file defines layer types that are commonly used for recurrent neural
networks.
"""


def rnn_step_forward(x, prev_h, Wx, Wh, b):
  """
  Run the forward pass for a single timestep of a vanilla RNN that uses a tanh
  activation function.
  """
  next_h, cache = None, None
  unact = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
  next_h = np.tanh(unact)
  cache = x, prev_h, Wx, Wh, unact
  return next_h, cache


def rnn_step_backward(dnext_h, cache):
  """
  Backward pass for a single timestep of a vanilla RNN.
  """
  dx, dprev_h, dWx, dWh, db = None, None, None, None, None
  x, prev_h, Wx, Wh, unact = cache
  dunact = dnext_h * (1.0 - np.tanh(unact) ** 2)
  db = np.sum(dunact, axis=0)
  dWh = np.dot(prev_h.T, dunact)
  dWx = np.dot(x.T, dunact)
  dprev_h = np.dot(dunact, Wh.T)
  dx = np.dot(dunact, Wx.T)
  return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
  """
  Run a vanilla RNN forward on an entire sequence of data.
  """
  h, cache = None, None
  N, T, D = x.shape
  _, H = h0.shape
  cache = {}
  h = np.zeros((N, T, H))
  prev_h = h0
  for t in xrange(T):
    prev_h, cache[t] = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
    h[:, t, :] = prev_h
  cache['size'] = (N, T, H, D)
  return h, cache


def rnn_backward(dh, cache):
  """
  Compute the backward pass for a vanilla RNN over an entire sequence of data.
  """
  dx, dh0, dWx, dWh, db = None, None, None, None, None
  (N, T, H, D) = cache['size']
  dprev_h = np.zeros((N, H))
  dx = np.zeros((N, T, D))
  dWx = np.zeros((D, H))
  dWh = np.zeros((H, H))
  db = np.zeros((H,))
  for t in reversed(xrange(T)):
    dnext_h = dprev_h + dh[:, t, :]
    dx[:, t, :], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, cache[t])
    dWx += dWx_t
    dWh += dWh_t
    db += db_t
  dh0 = dprev_h
  return dx, dh0, dWx, dWh, db


def word_embedding_forward(x, W):
  """
  Forward pass for word embeddings.
  """
  out, cache = None, None
  N, T = x.shape
  V, D = W.shape
  out = W[x, :]
  cache = x, V
  return out, cache


def word_embedding_backward(dout, cache):
  """
  Backward pass for word embeddings.
  """
  dW = None
  x, V = cache
  D = dout.shape[2]
  dW = np.zeros((V, D))
  np.add.at(dW, x, dout)
  return dW


def sigmoid(x):
  """
  A numerically stable version of the logistic sigmoid function.
  """
  pos_mask = (x >= 0)
  neg_mask = (x < 0)
  z = np.zeros_like(x)
  z[pos_mask] = np.exp(-x[pos_mask])
  z[neg_mask] = np.exp(x[neg_mask])
  top = np.ones_like(x)
  top[neg_mask] = z[neg_mask]
  return top / (1 + z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
  """
  Forward pass for a single timestep of an LSTM.
  """
  next_h, next_c, cache = None, None, None
  _, H = prev_h.shape
  a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
  i = sigmoid(a[:, 0:H])
  f = sigmoid(a[:, H:2*H])
  o = sigmoid(a[:, 2*H:3*H])
  g = np.tanh(a[:, 3*H:4*H])
  next_c = f * prev_c + i * g
  next_h = o * np.tanh(next_c)
  cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
  return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
  """
  Backward pass for a single timestep of an LSTM.
  """
  dx, dprev_h, dprev_c, dWx, dWh, db = None, None, None, None, None, None
  x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
  N, H = dnext_h.shape
  dnext_c = dnext_c + dnext_h * o * (1.0 - np.tanh(next_c) ** 2)
  dprev_c = dnext_c * f
  da = np.zeros((N, 4 * H))
  da[:, 0:H] = dnext_c * g * i * (1 - i)
  da[:, H:2*H] = dnext_c * prev_c * f * (1 - f)
  da[:, 2*H:3*H] = dnext_h * np.tanh(next_c) * o * (1 - o)
  da[:, 3*H:4*H] = dnext_c * i * (1 - g ** 2)
  db = np.sum(da, axis=0)
  dWh = np.dot(prev_h.T, da)
  dWx = np.dot(x.T, da)
  dprev_h = np.dot(da, Wh.T)
  dx = np.dot(da, Wx.T)
  return dx, dprev_h, dprev_c, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b):
  """
  Forward pass for an LSTM over an entire sequence of data.
  """
  h, cache = None, None
  N, T, D = x.shape
  H = h0.shape[1]
  h = np.zeros((N, T, H))
  cache = []
  prev_h, prev_c = h0, np.zeros_like(h0)
  for t in xrange(T):
    prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
    h[:, t, :] = prev_h
    cache.append(step_cache)
  return h, cache


def lstm_backward(dh, cache):
  """
  Backward pass for an LSTM over an entire sequence of data.]
  """
  dx, dh0, dWx, dWh, db = None, None, None, None, None
  N, T, H = dh.shape
  D = cache[0][0].shape[1]
  dx = np.zeros((N, T, D))
  dprev_h = np.zeros((N, H))
  dprev_c = np.zeros((N, H))
  dWx = np.zeros((D, 4 * H))
  dWh = np.zeros((H, 4 * H))
  db = np.zeros(4 * H)
  for t in reversed(xrange(T)):
    dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = \
        lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])
    dWx += dWx_t
    dWh += dWh_t
    db += db_t
  dh0 = dprev_h
  return dx, dh0, dWx, dWh, db


def temporal_affine_forward(x, w, b):
  """
  Forward pass for a temporal affine layer.
  """
  N, T, D = x.shape
  M = b.shape[0]
  out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
  cache = x, w, b, out
  return out, cache


def temporal_affine_backward(dout, cache):
  """
  Backward pass for temporal affine layer.
  """
  x, w, b, out = cache
  N, T, D = x.shape
  M = b.shape[0]

  dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
  dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
  db = dout.sum(axis=(0, 1))

  return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
  """
  A temporal version of softmax loss for use in RNNs.
  """
  N, T, V = x.shape

  x_flat = x.reshape(N * T, V)
  y_flat = y.reshape(N * T)
  mask_flat = mask.reshape(N * T)

  probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
  probs /= np.sum(probs, axis=1, keepdims=True)
  loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
  dx_flat = probs.copy()
  dx_flat[np.arange(N * T), y_flat] -= 1
  dx_flat /= N
  dx_flat *= mask_flat[:, None]

  if verbose: print 'dx_flat: ', dx_flat.shape

  dx = dx_flat.reshape(N, T, V)

  return loss, dx
