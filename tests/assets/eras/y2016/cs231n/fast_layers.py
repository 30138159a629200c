import numpy as np
try:
  from cs231n.im2col_cython import col2im_cython, im2col_cython
  from cs231n.im2col_cython import col2im_6d_cython
except ImportError:
  print 'run the following from the cs231n directory and try again:'
  print 'python setup.py build_ext --inplace'
  print 'You may also need to restart your iPython kernel'

from cs231n.im2col import *


def conv_forward_im2col(x, w, b, conv_param):
  N, C, H, W = x.shape
  num_filters, _, filter_height, filter_width = w.shape
  stride, pad = conv_param['stride'], conv_param['pad']
  out_height = (H + 2 * pad - filter_height) / stride + 1
  out_width = (W + 2 * pad - filter_width) / stride + 1
  x_cols = im2col_cython(x, w.shape[2], w.shape[3], pad, stride)
  res = w.reshape((w.shape[0], -1)).dot(x_cols) + b.reshape(-1, 1)
  out = res.reshape(w.shape[0], out_height, out_width, x.shape[0]).transpose(3, 0, 1, 2)
  cache = (x, w, b, conv_param, x_cols)
  return out, cache


def conv_backward_im2col(dout, cache):
  x, w, b, conv_param, x_cols = cache
  stride, pad = conv_param['stride'], conv_param['pad']
  db = np.sum(dout, axis=(0, 2, 3))
  num_filters, _, filter_height, filter_width = w.shape
  dout_reshaped = dout.transpose(1, 2, 3, 0).reshape(num_filters, -1)
  dw = dout_reshaped.dot(x_cols.T).reshape(w.shape)
  dx_cols = w.reshape(num_filters, -1).T.dot(dout_reshaped)
  dx = col2im_cython(dx_cols, x.shape[0], x.shape[1], x.shape[2], x.shape[3],
                     filter_height, filter_width, pad, stride)
  return dx, dw, db


conv_forward_fast = conv_forward_im2col
conv_backward_fast = conv_backward_im2col


def max_pool_forward_fast(x, pool_param):
  N, C, H, W = x.shape
  ph, pw, s = pool_param['pool_height'], pool_param['pool_width'], pool_param['stride']
  x_split = x.reshape(N * C, 1, H, W)
  x_cols = im2col_cython(x_split, ph, pw, padding=0, stride=s)
  x_cols_argmax = np.argmax(x_cols, axis=0)
  out = x_cols[x_cols_argmax, np.arange(x_cols.shape[1])]
  out = out.reshape((H - ph) / s + 1, (W - pw) / s + 1, N, C).transpose(2, 3, 0, 1)
  return out, (x, x_cols, x_cols_argmax, pool_param)


def max_pool_backward_fast(dout, cache):
  x, x_cols, x_cols_argmax, pool_param = cache
  N, C, H, W = x.shape
  dout_reshaped = dout.transpose(2, 3, 0, 1).flatten()
  dx_cols = np.zeros_like(x_cols)
  dx_cols[x_cols_argmax, np.arange(dx_cols.shape[1])] = dout_reshaped
  dx = col2im_cython(dx_cols, N * C, 1, H, W, pool_param['pool_height'], pool_param['pool_width'],
                     padding=0, stride=pool_param['stride'])
  return dx.reshape(x.shape)
